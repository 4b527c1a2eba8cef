import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCa {
  /** Path of the CA certificate (PEM), for UPSTREAM_CA_FILE. */
  readonly caFile: string;
  readonly ca: string;
  /** The server's key and certificate (PEM). */
  readonly key: string;
  readonly cert: string;
  remove(): void;
}

/**
 * A private CA and one server certificate signed by it, made with openssl (Debian package in
 * .ci/apt-packages.txt). `subjectAltName` is openssl's syntax: "DNS:billing.test" names a host
 * only, so a client that checked the certificate against an IP would refuse it.
 */
export function makeTestCa(subjectAltName: string): TestCa {
  const dir = mkdtempSync(join(tmpdir(), "sidecar-ca-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=sidecar test CA",
  );
  openssl("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=sidecar test server");
  writeFileSync(
    join(dir, "server.ext"),
    `subjectAltName=${subjectAltName}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "server.ext",
  );
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  return {
    caFile: join(dir, "ca.pem"),
    ca: read("ca.pem"),
    key: read("server.key"),
    cert: read("server.pem"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../support/sidecar-harness.js";

// SPEC.md "Configuration": UPSTREAM_URL may be https, and UPSTREAM_CA_FILE is a PEM bundle
// trusted for it besides the system's CAs. A private CA and a certificate for 127.0.0.1 are
// made with openssl for this file.

const run = promisify(execFile);
let dir = "";
let server: Server;
let upstreamUrl: string;
const received: Array<{ url: string; host: string | undefined; body: string }> = [];
let harness: Harness | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "retry-sidecar-tls-"));
  const at = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    at("ca.key"),
    "-out",
    at("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=retry-sidecar test CA",
  ]);
  await run("openssl", [
    "req",
    ...ec,
    "-keyout",
    at("server.key"),
    "-out",
    at("server.csr"),
    "-subj",
    "/CN=127.0.0.1",
  ]);
  writeFileSync(at("ext"), "subjectAltName=IP:127.0.0.1\n");
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    at("server.csr"),
    "-CA",
    at("ca.pem"),
    "-CAkey",
    at("ca.key"),
    "-CAcreateserial",
    "-out",
    at("server.pem"),
    "-days",
    "2",
    "-extfile",
    at("ext"),
  ]);
  server = createServer(
    { key: readFileSync(at("server.key")), cert: readFileSync(at("server.pem")) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        received.push({ url: req.url ?? "", host: req.headers.host, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("over tls");
      });
    },
  );
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  upstreamUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 30_000);
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  received.length = 0;
});
afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

describe("an https upstream", () => {
  it("is reached when UPSTREAM_CA_FILE trusts its CA", async () => {
    harness = await startHarness({
      UPSTREAM_URL: `${upstreamUrl}/base`,
      UPSTREAM_CA_FILE: join(dir, "ca.pem"),
    });
    const res = await fetch(`${harness.url}/provider/1?x=2`, { method: "POST", body: "tls body" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("over tls");
    expect(received).toEqual([
      { url: "/base/provider/1?x=2", host: upstreamUrl.slice("https://".length), body: "tls body" },
    ]);
  });

  it("is refused (502, nothing answered) without the CA: the system CAs do not trust it", async () => {
    harness = await startHarness({ UPSTREAM_URL: upstreamUrl, MAX_RETRIES: "0" });
    const res = await fetch(`${harness.url}/provider`);
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const body = (await res.json()) as { attempts?: unknown; reason?: unknown };
    expect(body.attempts).toBe(1);
    expect(typeof body.reason).toBe("string");
    expect(received).toEqual([]);
  });
});

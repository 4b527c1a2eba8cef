import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load-config.js";
import { type Harness, startHarness } from "../support/sidecar-harness.js";
import { makeTestCa, type TestCa } from "../support/test-ca.js";

// UPSTREAM_CA_FILE: an https upstream whose certificate is signed by a private CA made here with
// openssl (Debian package listed in .ci/apt-packages.txt). Trusted with the CA file; without it
// the client gets one clear 502 (not retried: a retry cannot make a certificate trusted).

let dir: string;
let upstream: Server;
let port: number;
let harness: Harness | undefined;
const seen: string[] = [];
/** The server names (SNI) the upstream was asked for, in TLS handshakes. */
const serverNames: string[] = [];
/** Each request as it reached the upstream's application, body read to the end. */
const received: Array<{ url: string; host: string | undefined; body: string }> = [];

let ca: TestCa;

beforeAll(async () => {
  // Certificate for the address only (subjectAltName IP:127.0.0.1), as the upstream URL names it.
  ca = makeTestCa("IP:127.0.0.1");
  dir = dirname(ca.caFile);
  writeFileSync(join(dir, "not-pem.txt"), "this is not a certificate\n");
  const sni = (name: string, done: (error: Error | null) => void) => {
    serverNames.push(name);
    done(null); // the server's own certificate
  };
  upstream = createServer({ key: ca.key, cert: ca.cert, SNICallback: sni }, (req, res) => {
    seen.push(req.url ?? "");
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({ url: req.url ?? "", host: req.headers.host, body: Buffer.concat(chunks).toString() });
      res.writeHead(201, { "content-type": "text/plain" });
      res.end("created over tls");
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  port = (upstream.address() as AddressInfo).port;
}, 30_000);

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  received.length = 0;
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  ca.remove();
});

const env = (extra: Record<string, string>) => ({
  UPSTREAM_URL: `https://127.0.0.1:${port}`,
  BACKOFF_BASE_MS: "10",
  ...extra,
});

describe("https upstream signed by a private CA", () => {
  it("with UPSTREAM_CA_FILE: forwarded, the upstream's answer comes back", async () => {
    harness = await startHarness(env({ UPSTREAM_CA_FILE: join(dir, "ca.pem") }));

    const response = await fetch(`${harness.url}/provider`, { method: "POST", body: "{}" });

    expect(response.status).toBe(201);
    expect(await response.text()).toBe("created over tls");
    expect(response.headers.get("x-attempt-count")).toBe("1");
    expect(seen).toContain("/provider");
  });

  it("with UPSTREAM_CA_FILE and a base path: path, query, Host and body arrive as sent", async () => {
    harness = await startHarness({
      UPSTREAM_URL: `https://127.0.0.1:${port}/base`,
      UPSTREAM_CA_FILE: join(dir, "ca.pem"),
    });

    const response = await fetch(`${harness.url}/provider/1?x=2`, { method: "POST", body: "tls body" });

    expect(response.status).toBe(201);
    expect(await response.text()).toBe("created over tls");
    expect(received).toEqual([{ url: "/base/provider/1?x=2", host: `127.0.0.1:${port}`, body: "tls body" }]);
  });

  it("without UPSTREAM_CA_FILE: one 502 at the first attempt, and a warn line naming the TLS error", async () => {
    harness = await startHarness(env({}));
    const before = seen.length;

    const response = await fetch(`${harness.url}/provider`, { method: "POST", body: "{}" });

    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ reason: "connect_error", attempts: 1 });
    expect(seen.length).toBe(before); // nothing reached the upstream's application
    expect(
      await harness.metric("retry_sidecar_upstream_attempts_total", {
        route: "/provider",
        outcome: "connect_error",
      }),
    ).toBe(1);
    expect(await harness.metric("retry_sidecar_retries_total", { route: "/provider" })).toBe(0);
    const line = harness.logs.find((l) => l.msg === "request completed");
    expect(line).toMatchObject({ level: "warn", status: 502, error: { code: "UPSTREAM_TLS" } });
    expect(String((line?.error as { message?: string } | undefined)?.message)).toMatch(
      /TLS handshake failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/,
    );
  });

  it("with the CA but a host name the certificate does not name: 502, not retried", async () => {
    harness = await startHarness(
      env({ UPSTREAM_URL: `https://localhost:${port}`, UPSTREAM_CA_FILE: join(dir, "ca.pem") }),
    );

    const response = await fetch(`${harness.url}/provider`, { method: "POST", body: "{}" });

    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ attempts: 1 });
    const line = harness.logs.find((l) => l.msg === "request completed");
    expect(String((line?.error as { message?: string } | undefined)?.message)).toContain(
      "ERR_TLS_CERT_ALTNAME_INVALID",
    );
    // The handshake named the URL's host (SNI), not the address it resolved to. undici takes the
    // name from each request's Host header, which is the URL's host (the dispatcher's own
    // `servername` is only its fallback), so this holds the Host header as much as that option.
    expect(serverNames).toContain("localhost");
  });

  it.each([
    ["a missing file", () => join(dir, "missing.pem"), "a readable PEM file"],
    ["a file that is not PEM", () => join(dir, "not-pem.txt"), "CERTIFICATE block"],
  ])("UPSTREAM_CA_FILE naming %s is refused at startup", (_name, path, expected) => {
    expect(() => loadConfig({ UPSTREAM_CA_FILE: path() })).toThrow(
      expect.objectContaining({
        code: "CONFIG_INVALID",
        message: expect.stringContaining("UPSTREAM_CA_FILE"),
      }),
    );
    expect(() => loadConfig({ UPSTREAM_CA_FILE: path() })).toThrow(expected);
  });
});

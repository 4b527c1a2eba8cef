import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Backends, startBackends } from "../support/backends.js";
import { type Dnsmasq, startDnsmasq } from "../support/dnsmasq.js";
import { FAST_ENV, json, send } from "../support/scenario.js";
import { type Harness, type LogLine, startHarness } from "../support/sidecar-harness.js";
import { makeTestCa, type TestCa } from "../support/test-ca.js";

// docs/contract.md "Endpoints", Resolution, Changes and TLS, end to end: the real sidecar, its upstream name
// answered by a real DNS server (dnsmasq) whose records the test rewrites, real upstreams on
// 127.0.0.2 and .3.

const NAME = "billing.test";

let dnsmasq: Dnsmasq;
let backends: Backends | undefined;
let harness: Harness | undefined;

beforeAll(async () => {
  dnsmasq = await startDnsmasq({});
}, 15_000);
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await backends?.close();
  backends = undefined;
});
afterAll(async () => {
  await dnsmasq?.stop();
});

async function start(url: string, env: Record<string, string> = {}): Promise<Harness> {
  harness = await startHarness({
    UPSTREAM_URL: url,
    UPSTREAM_DNS_SERVERS: dnsmasq.server,
    UPSTREAM_DNS_REFRESH_MS: "50",
    ...FAST_ENV,
    LOG_REQUESTS: "all", // plain successes' lines name their endpoint
    ...env,
  });
  return harness;
}

const changedRemoving = (key: string) => (l: LogLine) =>
  l.msg === "endpoints changed" && (l.removed as string[]).includes(key);
const changedAdding = (key: string) => (l: LogLine) =>
  l.msg === "endpoints changed" && (l.added as string[]).includes(key);

describe("an address that leaves DNS while an attempt to it is in flight", () => {
  it("the attempt finishes and the client gets its answer; new attempts go elsewhere; then its connection closes", async () => {
    backends = await startBackends(["127.0.0.2", "127.0.0.3"]);
    const b = backends;
    const leaving = b.at("127.0.0.3");
    await dnsmasq.setHosts({ [NAME]: ["127.0.0.3"] });
    const h = await start(`http://${NAME}:${b.port}`);

    // Slow enough that the DNS change lands while the attempt waits for its answer.
    leaving.script({ status: 200, body: "late from 127.0.0.3", delayMs: 1000 });
    let answered = false;
    const pending = send(h, "/provider", { headers: { "x-request-id": "in-flight" } }).finally(() => {
      answered = true;
    });
    await leaving.waitForRequests(1);

    await dnsmasq.setHosts({ [NAME]: ["127.0.0.2"] });
    await h.waitForLog(changedRemoving(`127.0.0.3:${b.port}`), 3000);
    for (let i = 0; i < 5; i++) {
      const reply = await send(h);
      expect([reply.status, reply.text]).toEqual([200, "from 127.0.0.2"]);
    }
    expect(answered).toBe(false); // all that happened while the attempt was in flight

    const reply = await pending;
    expect([reply.status, reply.attempts, reply.text]).toEqual([200, 1, "late from 127.0.0.3"]);
    expect(await h.waitForLog((l) => l.msg === "request completed" && l.reqId === "in-flight")).toMatchObject(
      {
        status: 200,
        endpoint: `127.0.0.3:${b.port}`,
      },
    );
    expect(leaving.received).toHaveLength(1);
    // Its attempt over, the removed endpoint's kept-alive connection is closed.
    await vi.waitFor(() => expect(leaving.openConnections).toBe(0), { timeout: 2000 });
  });
});

describe("a name that does not resolve at start-up", () => {
  it("the sidecar starts; requests get 502 connect_error until the name resolves, then succeed", async () => {
    backends = await startBackends(["127.0.0.2"]);
    const b = backends;
    await dnsmasq.setHosts({});
    const h = await start(`http://${NAME}:${b.port}`);

    const failed = await send(h, "/provider", { headers: { "x-request-id": "before-dns" } });
    expect(failed.status).toBe(502);
    expect(json(failed)).toMatchObject({ reason: "connect_error", attempts: 4 });
    const completed = await h.waitForLog((l) => l.msg === "request completed" && l.reqId === "before-dns");
    expect(completed).toMatchObject({ status: 502, attempts: 4 });
    expect(completed).not.toHaveProperty("endpoint"); // no attempt reached any endpoint
    expect(b.at("127.0.0.2").received).toHaveLength(0);

    await dnsmasq.setHosts({ [NAME]: ["127.0.0.2"] });
    await h.waitForLog(changedAdding(`127.0.0.2:${b.port}`), 3000);
    const ok = await send(h);
    expect([ok.status, ok.attempts, ok.text]).toEqual([200, 1, "from 127.0.0.2"]);
  });
});

describe("https on two addresses, the certificate naming the host only", () => {
  let tls: TestCa;
  const servers: Server[] = [];
  let port = 0;
  /** Every request as a server saw it: its address, the SNI name, the Host header, the attempt. */
  const seen: Array<{
    address: string;
    servername: string | false | null;
    host: string | undefined;
    attempt: number;
  }> = [];
  /** TLS connections each address accepted. */
  const handshakes = new Map<string, number>();

  beforeAll(async () => {
    tls = makeTestCa(`DNS:${NAME}`);
    for (const address of ["127.0.0.2", "127.0.0.3"]) {
      const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
        const attempt = Number(req.headers["x-attempt-count"]);
        seen.push({
          address,
          servername: (req.socket as TLSSocket).servername,
          host: req.headers.host,
          attempt,
        });
        req.resume();
        req.on("end", () => {
          // x-fail-attempts: N makes the first N attempts of a request fail with 503.
          const fail = attempt <= Number(req.headers["x-fail-attempts"] ?? 0);
          res.writeHead(fail ? 503 : 200);
          res.end(fail ? "try again" : `tls from ${address}`);
        });
      });
      server.on("secureConnection", () => handshakes.set(address, (handshakes.get(address) ?? 0) + 1));
      await new Promise<void>((resolve) => server.listen(port, address, resolve));
      port = (server.address() as AddressInfo).port;
      servers.push(server);
    }
  }, 30_000);
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    tls?.remove();
  });

  it("with UPSTREAM_CA_FILE both addresses answer, and SNI, the certificate check and Host all use the name", async () => {
    await dnsmasq.setHosts({ [NAME]: ["127.0.0.2", "127.0.0.3"] });
    const h = await start(`https://${NAME}:${port}`, { UPSTREAM_CA_FILE: tls.caFile });
    seen.length = 0;
    for (let i = 0; i < 20; i++) {
      const reply = await send(h);
      expect(reply.status).toBe(200);
      expect(reply.text).toMatch(/^tls from 127\.0\.0\.[23]$/);
    }
    // 20 first attempts over two endpoints: all on one has odds of 2 × 2^-20.
    expect(new Set(seen.map((s) => s.address))).toEqual(new Set(["127.0.0.2", "127.0.0.3"]));
    for (const s of seen) expect(s).toMatchObject({ servername: NAME, host: `${NAME}:${port}` });

    // Two failed attempts: the third goes back to an endpoint already tried, on a new TLS
    // connection, which names the host too.
    seen.length = 0;
    const before = (handshakes.get("127.0.0.2") ?? 0) + (handshakes.get("127.0.0.3") ?? 0);
    const retried = await send(h, "/provider", { headers: { "x-fail-attempts": "2" } });
    expect([retried.status, retried.attempts]).toEqual([200, 3]);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3]);
    expect(new Set(seen.slice(0, 2).map((s) => s.address))).toEqual(new Set(["127.0.0.2", "127.0.0.3"]));
    for (const s of seen) expect(s).toMatchObject({ servername: NAME, host: `${NAME}:${port}` });
    const after = (handshakes.get("127.0.0.2") ?? 0) + (handshakes.get("127.0.0.3") ?? 0);
    expect(after - before).toBeGreaterThanOrEqual(1);
  });

  it("without the CA the certificate is refused: 502, no retry makes it trusted", async () => {
    await dnsmasq.setHosts({ [NAME]: ["127.0.0.2", "127.0.0.3"] });
    const h = await start(`https://${NAME}:${port}`);
    const reply = await send(h);
    expect(reply.status).toBe(502);
    expect(json(reply)).toMatchObject({ reason: "connect_error", attempts: 1 });
  });
});

import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { quietPort } from "../support/quiet-port.js";
import { useScenario } from "../support/scenario.js";
import { type Harness, startHarness } from "../support/sidecar-harness.js";
import { tryConnect } from "../support/sidecar-process.js";

// docs/contract.md "Shutdown" and "Admin listener" /readyz, in-process (the real process and its signals:
// shutdown-process.test.ts): readyz 503 at once, no new connections, in-flight requests (their
// retries included) finish, the rest are aborted when SHUTDOWN_GRACE_MS is over: answered 503
// (reason "shutdown") when their answer had not started, and logged as cut by shutdown, not as
// clients that left.

const scenario = useScenario({ status: 201, body: "real answer" }, { BACKOFF_JITTER: "0" });

async function readyz(h: Harness): Promise<number> {
  const res = await fetch(`${h.adminUrl}/readyz`);
  await res.arrayBuffer();
  return res.status;
}

describe("drain", () => {
  it("turns /readyz 503 at once, refuses new connections, lets the in-flight request finish", async () => {
    const h = await scenario.start({ PORT: String(await quietPort()) });
    expect(await readyz(h)).toBe(200);
    scenario.upstream.script({
      status: 201,
      body: "slow real answer",
      headers: { "x-up": "1" },
      delayMs: 500,
    });
    const inFlight = fetch(`${h.url}/provider`, { method: "POST", body: "x" });
    await scenario.upstream.waitForRequests(1);

    const shutdownAt = performance.now();
    const stopped = h.sidecar.shutdown();
    let stoppedAt = 0;
    void stopped.then(() => {
      stoppedAt = performance.now();
    });
    expect(await readyz(h)).toBe(503);
    expect(await tryConnect(h.sidecar.proxyPort)).toBe("ECONNREFUSED");

    const res = await inFlight;
    expect(res.status).toBe(201);
    expect(res.headers.get("x-up")).toBe("1");
    expect(await res.text()).toBe("slow real answer");
    await stopped;
    // The upstream answers 500 ms after the request reached it, just before the shutdown began: a
    // drain that did not wait for it would be over in a few ms (the client, in this process, may
    // read the answer a little after the sidecar wrote it, so the end of the read is no yardstick).
    expect(stoppedAt - shutdownAt).toBeGreaterThanOrEqual(400);
    expect(await scenario.upstream.closed(0)).toBe("answered");
    expect(await h.metric("retry_sidecar_requests_total", { code: "201" })).toBe(1);
  });

  it("lets a request in flight finish its retries", async () => {
    const h = await scenario.start({ BACKOFF_BASE_MS: "300" });
    scenario.upstream.script({ status: 503 });
    const inFlight = fetch(`${h.url}/provider`);
    await scenario.upstream.waitForRequests(1);
    const stopped = h.sidecar.shutdown(); // during the 300 ms backoff
    expect(await readyz(h)).toBe(503);
    const res = await inFlight;
    expect(res.status).toBe(201);
    expect(res.headers.get("x-attempt-count")).toBe("2");
    expect(await res.text()).toBe("real answer");
    await stopped;
    expect(scenario.upstream.received).toHaveLength(2);
  });

  it("aborts what is still running when SHUTDOWN_GRACE_MS is over: 503 shutdown, logged as such", async () => {
    const h = await scenario.start({ SHUTDOWN_GRACE_MS: "200", PER_TRY_TIMEOUT_MS: "10000" });
    scenario.upstream.script({ status: 201, delayMs: 10_000 });
    const inFlight = fetch(`${h.url}/provider`, { headers: { "x-request-id": "cut-1" } }).then(
      async (res) => ({
        status: res.status,
        id: res.headers.get("x-request-id"),
        body: (await res.json()) as Record<string, unknown>,
      }),
      (error: Error) => error.name,
    );
    await scenario.upstream.waitForRequests(1);
    const started = performance.now();
    await h.sidecar.shutdown();
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1200);
    expect(await scenario.upstream.closed(0)).toBe("aborted");
    expect(await inFlight).toEqual({
      status: 503,
      id: "cut-1",
      body: { error: expect.any(String), reason: "shutdown", attempts: 1 }, // exactly these fields
    });
    expect(h.logs.some((l) => l.msg === "grace period over: aborting requests still in flight")).toBe(true);
    expect(h.logs.filter((l) => l.msg === "request completed")).toEqual([
      expect.objectContaining({ reqId: "cut-1", status: 503, attempts: 1, retryStopped: "shutdown" }),
    ]);
    expect(await h.metric("retry_sidecar_requests_total", { code: "499" })).toBe(0);
    expect(
      await h.metric("retry_sidecar_local_replies_total", { route: "/provider", reason: "shutdown" }),
    ).toBe(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total", { reason: "client_gone" })).toBe(0);
  });

  it("a request cut during its backoff wait is logged as cut by shutdown, not as a client that left", async () => {
    const h = await scenario.start({ SHUTDOWN_GRACE_MS: "100", BACKOFF_BASE_MS: "5000" });
    scenario.upstream.script({ status: 503 });
    const inFlight = fetch(`${h.url}/provider`, { headers: { "x-request-id": "cut-2" } });
    await scenario.upstream.waitForRequests(1);
    await h.sidecar.shutdown();
    const res = await inFlight;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: expect.any(String), reason: "shutdown", attempts: 1 });
    expect(await h.waitForLog((l) => l.msg === "request completed")).toMatchObject({
      reqId: "cut-2",
      status: 503,
      retryStopped: "shutdown",
    });
    expect(await h.metric("retry_sidecar_retries_skipped_total", { reason: "client_gone" })).toBe(0);
  });

  it("a body cut off by the end of the grace period is logged and counted with the status sent, not 499", async () => {
    // An upstream that sends its headers and a first chunk, then nothing more.
    const upstream = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("a");
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    try {
      const port = (upstream.address() as AddressInfo).port;
      const h = await startHarness({ UPSTREAM_URL: `http://127.0.0.1:${port}`, SHUTDOWN_GRACE_MS: "100" });
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${h.url}/provider`, { headers: { "x-request-id": "cut-body" } }, (res) => {
          res.on("error", () => {}); // the body is cut off
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on("error", reject);
        req.end();
      });
      expect(status).toBe(200); // its headers are out: now the drain begins
      await h.sidecar.shutdown();
      expect(h.logs.filter((l) => l.msg === "request completed")).toEqual([
        expect.objectContaining({ reqId: "cut-body", status: 200, retryStopped: "shutdown" }),
      ]);
      expect(await h.metric("retry_sidecar_requests_total", { code: "200" })).toBe(1);
      expect(await h.metric("retry_sidecar_requests_total", { code: "499" })).toBe(0);
    } finally {
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it("closes idle keep-alive connections at once", async () => {
    const h = await scenario.start();
    const socket = connect(h.sidecar.proxyPort, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write("GET /provider HTTP/1.1\r\nHost: s\r\n\r\n");
    await new Promise((resolve) => socket.once("data", resolve)); // answered, connection kept open
    const closed = new Promise((resolve) => socket.once("close", resolve));
    await h.sidecar.shutdown();
    await closed;
    expect(socket.destroyed).toBe(true);
  });

  it("stops quickly when nothing is in flight", async () => {
    const h = await scenario.start({ ADMIN_PORT: String(await quietPort()) });
    await (await fetch(`${h.url}/provider`)).arrayBuffer();
    const started = performance.now();
    await h.sidecar.shutdown();
    expect(performance.now() - started).toBeLessThan(500);
    expect(await tryConnect(h.sidecar.adminPort)).toBe("ECONNREFUSED");
  });

  it("answers a request in flight with Connection: close, so its client sends nothing more on that connection", async () => {
    const h = await scenario.start();
    scenario.upstream.script({ status: 201, body: "slow", delayMs: 300 });
    const answer = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = request(
        `${h.url}/provider`,
        { method: "POST", agent: false, headers: { connection: "keep-alive" } },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
        },
      );
      req.on("error", reject);
      req.end("x");
    });
    await scenario.upstream.waitForRequests(1);
    const stopped = h.sidecar.shutdown();
    expect(await answer).toEqual({ status: 201, connection: "close" });
    await stopped;
  });

  it("a client that sent half a request does not hold the drain: its connection is closed at the end", async () => {
    const h = await scenario.start();
    const socket = connect(h.sidecar.proxyPort, "127.0.0.1");
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write("POST /provider HTTP/1.1\r\nHost: 127.0.0.1\r\n"); // the headers never end
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await h.sidecar.shutdown();
    await closed;
    // Not held until the client's 10 s for its headers: nothing is owed to it.
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("leaves no connection to the upstream open", async () => {
    const h = await scenario.start();
    const res = await fetch(`${h.url}/provider`, { method: "POST", body: "x" });
    expect(await res.text()).toBe("real answer");
    expect(scenario.upstream.openConnections).toBe(1); // kept alive
    await h.sidecar.shutdown();
    await expect.poll(() => scenario.upstream.openConnections).toBe(0);
  });

  it("stops resolving the upstream's name", async () => {
    const h = await scenario.start({
      UPSTREAM_URL: `http://localhost:${scenario.upstream.port}`,
      UPSTREAM_DNS_REFRESH_MS: "20",
    });
    const resolutions = async () => {
      const metric = await h.sidecar.metrics.registry
        .getSingleMetric("retry_sidecar_dns_resolutions_total")
        ?.get();
      return (metric?.values ?? []).reduce((total, v) => total + v.value, 0);
    };
    await expect.poll(resolutions).toBeGreaterThan(2); // resolved every 20 ms
    await h.sidecar.shutdown();
    // A lookup already running when the refresh stopped may still land: count from a moment later.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await resolutions();
    await new Promise((resolve) => setTimeout(resolve, 200)); // ten intervals
    expect(await resolutions()).toBe(after);
  });

  it("closes a kept-alive connection once the answer it was streaming when the drain began is out, not when the drain ends", async () => {
    // An upstream whose /provider/stream answer takes 400 ms to finish its body, and whose
    // /provider/slow answer keeps the drain going for 3 s.
    const upstream = createServer((req, res) => {
      if (req.url === "/provider/slow") {
        setTimeout(() => res.end("slow"), 3000);
        return;
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("a");
      setTimeout(() => res.end("b"), 400);
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    try {
      const port = (upstream.address() as AddressInfo).port;
      const h = await startHarness({ UPSTREAM_URL: `http://127.0.0.1:${port}` });
      const slow = fetch(`${h.url}/provider/slow`).then((r) => r.text());
      const agent = new Agent({ keepAlive: true });
      const streamed = new Promise<{ endedAt: number; closedAt: Promise<number> }>((resolve, reject) => {
        const req = request(`${h.url}/provider/stream`, { agent }, (res) => {
          // Its headers are out (with keep-alive): now the drain begins.
          void h.sidecar.shutdown();
          const closedAt = new Promise<number>((closed) =>
            req.socket?.once("close", () => closed(Date.now())),
          );
          res.resume();
          res.on("end", () => resolve({ endedAt: Date.now(), closedAt }));
        });
        req.on("error", reject);
        req.end();
      });
      const { endedAt, closedAt } = await streamed;
      expect((await closedAt) - endedAt).toBeLessThan(1000); // the drain still has 2 s to go
      expect(await slow).toBe("slow");
      agent.destroy();
    } finally {
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});

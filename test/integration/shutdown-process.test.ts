import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { builtMain } from "../support/built-main.js";
import { type FakeUpstream, startFakeUpstream } from "../support/fake-upstream.js";
import { quietPort } from "../support/quiet-port.js";
import { type SidecarProcess, startSidecarProcess, tryConnect } from "../support/sidecar-process.js";

// docs/contract.md "Shutdown" with the real process (`node dist/main.js`, compiled by builtMain) and real
// signals: /readyz 503 during the drain, the in-flight request gets its real answer, new
// connections are refused, exit code 0; requests still running at the end of SHUTDOWN_GRACE_MS
// are aborted and the process still exits 0 right after.

let upstream: FakeUpstream | undefined;
let running: SidecarProcess | undefined;

beforeAll(async () => {
  await builtMain(); // compile once up front, outside the tests' time limits
}, 60_000);
afterEach(async () => {
  running?.kill();
  running = undefined;
  await upstream?.close();
  upstream = undefined;
});

/** The real process on ephemeral ports (or those `env` names), in front of the test's upstream. */
async function startProcess(env: Record<string, string>): Promise<SidecarProcess> {
  running = await startSidecarProcess({ UPSTREAM_URL: (upstream as FakeUpstream).url, ...env });
  return running;
}

async function readyz(p: SidecarProcess): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${p.adminPort}/readyz`);
  await res.arrayBuffer();
  return res.status;
}

/** Two distinct free ports: both listeners stay open until both are picked (PORT = ADMIN_PORT is a config error). */
describe.each(["SIGTERM", "SIGINT"] as const)("%s", (signal) => {
  it("drains: readyz 503, new connections refused, the in-flight request answered, exit 0", async () => {
    upstream = await startFakeUpstream({ status: 201, body: "real answer", delayMs: 500 });
    // On the ports given in PORT / ADMIN_PORT, quiet ones: "refused" below must not be a parallel
    // test's server that took an ephemeral port the moment the sidecar let it go.
    const ports = { PORT: String(await quietPort()), ADMIN_PORT: String(await quietPort()) };
    const p = await startProcess({ ...ports, LOG_REQUESTS: "all" });
    expect([String(p.proxyPort), String(p.adminPort)]).toEqual([ports.PORT, ports.ADMIN_PORT]);
    expect(await readyz(p)).toBe(200);
    const inFlight = fetch(`http://127.0.0.1:${p.proxyPort}/provider`, {
      method: "POST",
      body: "{}",
      headers: { "x-request-id": "drain-1" },
    });
    await upstream.waitForRequests(1);
    p.child.kill(signal);

    // readyz turns 503 as soon as the signal is handled (bounded poll: the signal is async).
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) status = await readyz(p);
    expect(status).toBe(503);
    expect(await tryConnect(p.proxyPort)).toBe("ECONNREFUSED");

    const res = await inFlight;
    expect(res.status).toBe(201);
    expect(await res.text()).toBe("real answer");
    const exit = await p.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });

    // Logs: JSON, one object per line on stdout, the request included.
    const lines = p.logs;
    expect(lines.find((l) => l.msg === "request completed")).toMatchObject({ reqId: "drain-1", status: 201 });
    expect(lines.map((l) => l.msg)).toContain("shutdown requested");
  });

  it("aborts a hanging request at the end of SHUTDOWN_GRACE_MS and still exits 0 promptly", async () => {
    upstream = await startFakeUpstream({ status: 201, body: "too late", delayMs: 10_000 });
    const p = await startProcess({ SHUTDOWN_GRACE_MS: "200", PER_TRY_TIMEOUT_MS: "20000" });
    const inFlight = fetch(`http://127.0.0.1:${p.proxyPort}/provider`, {
      headers: { "x-request-id": "hanging-1" },
    }).then(
      (res) => `status ${res.status}`,
      (error: Error) => error.name,
    );
    await upstream.waitForRequests(1);
    const signalledAt = performance.now();
    p.child.kill(signal);
    const exit = await p.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    const took = exit.at - signalledAt;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(200 + 1000);
    expect(await inFlight).toBe("status 503"); // the sidecar's own answer: reason "shutdown"
    expect(await upstream.closed(0)).toBe("aborted");
    // Written before the process exited (the drain flushes the log): cut by shutdown, not a 499.
    expect(p.logs.find((l) => l.msg === "request completed")).toMatchObject({
      reqId: "hanging-1",
      status: 503,
      retryStopped: "shutdown",
    });
  });
});

describe("a second signal during the drain", () => {
  async function drainingWithOneRequest(delayMs: number) {
    upstream = await startFakeUpstream({ status: 201, body: "real answer", delayMs });
    const p = await startProcess({});
    const inFlight = fetch(`http://127.0.0.1:${p.proxyPort}/provider`, {
      headers: { "x-request-id": "second-signal" },
    }).then(
      async (res) => `${res.status} ${await res.text()}`,
      (error: Error) => error.name,
    );
    await upstream.waitForRequests(1);
    p.child.kill("SIGTERM");
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) status = await readyz(p);
    expect(status).toBe(503);
    return { p, inFlight };
  }

  it("the other signal (SIGINT after SIGTERM) joins the drain under way: one drain, the answer, exit 0", async () => {
    const { p, inFlight } = await drainingWithOneRequest(800);
    p.child.kill("SIGINT");
    expect(await inFlight).toBe("201 real answer");
    expect(await p.exited).toMatchObject({ code: 0, signal: null });
    const messages = p.logs.map((l) => l.msg);
    expect(messages.filter((m) => m === "shutdown requested")).toHaveLength(2);
    expect(messages.filter((m) => m === "draining")).toHaveLength(1);
    expect(messages.filter((m) => m === "stopped")).toHaveLength(1);
  });

  it("the same signal again stops the process at once, as a second Ctrl-C does: the request in flight is cut", async () => {
    const { p, inFlight } = await drainingWithOneRequest(5000);
    const signalledAt = performance.now();
    p.child.kill("SIGTERM");
    const exit = await p.exited;
    expect(exit).toMatchObject({ code: null, signal: "SIGTERM" });
    expect(exit.at - signalledAt).toBeLessThan(1000);
    expect(await inFlight).toBe("TypeError"); // fetch failed: the connection closed unanswered
  });
});

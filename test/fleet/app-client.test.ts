import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type App, type AppOptions, createApp } from "../../bench/fleet/app-client.js";
import { closedPort } from "../support/scenario.js";

// The fleet's app is what the figures count: its attempts, its timeouts and its statuses. These
// tests run it against a real billing stand-in on 127.0.0.1 that answers each attempt as planned.

/** What billing does with one attempt: a status at once, a status late, never answer, drop the
 * connection before answering, or cut the answer off mid-body. */
type Step = number | { status: number; afterMs: number } | "hang" | "reset" | "cut";

interface Seen {
  method: string | undefined;
  url: string | undefined;
  contentType: string | undefined;
  body: string;
}

const servers: Server[] = [];
const apps: App[] = [];
const timers = new Set<NodeJS.Timeout>();

afterEach(async () => {
  vi.useRealTimers();
  for (const app of apps.splice(0)) app.close();
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Billing on 127.0.0.1: attempt n gets plan[n] (the last step repeats). */
async function billing(plan: readonly Step[]) {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      seen.push({
        method: req.method,
        url: req.url,
        contentType: req.headers["content-type"],
        body: Buffer.concat(chunks).toString(),
      });
      const step = plan[Math.min(seen.length, plan.length) - 1] as Step;
      if (step === "hang") return;
      if (step === "reset") {
        req.socket.destroy();
        return;
      }
      if (step === "cut") {
        res.writeHead(200, { "content-length": "100" });
        res.write("{", () => res.socket?.destroy());
        return;
      }
      const { status, afterMs } = typeof step === "number" ? { status: step, afterMs: 0 } : step;
      const answer = () => res.writeHead(status, { "content-type": "application/json" }).end("{}");
      if (afterMs === 0) answer();
      else timers.add(setTimeout(answer, afterMs));
    });
  });
  server.on("connection", () => connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { port, seen, connections: () => connections };
}

function app(port: number, options: Partial<Omit<AppOptions, "target" | "onAttempt">>) {
  const counted = { attempts: 0 };
  const created = createApp({
    target: { host: "127.0.0.1", port },
    attempts: 1,
    perTryTimeoutMs: 1000,
    appTimeoutMs: 2000,
    ...options,
    onAttempt: () => counted.attempts++,
  });
  apps.push(created);
  return { app: created, counted };
}

/** The call, failed fast when it never ends (a hung call would otherwise wait for vitest's timeout). */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function timed<T>(promise: Promise<T>) {
  const start = performance.now();
  const value = await promise;
  return { value, ms: performance.now() - start };
}

describe("the fleet's app", () => {
  it("sends one POST /provider with the name as JSON and returns billing's status", async () => {
    const upstream = await billing([{ status: 201, afterMs: 100 }]);
    const { app: one, counted } = app(upstream.port, { attempts: 1 });
    expect(await within(one.call("pod3-req7"), 1500)).toEqual({ status: 201 });
    expect(upstream.seen).toEqual([
      { method: "POST", url: "/provider", contentType: "application/json", body: '{"name":"pod3-req7"}' },
    ]);
    expect(counted.attempts).toBe(1);
  });

  it("with one attempt, waits the whole app timeout, not the naive loop's per-try timeout", async () => {
    const upstream = await billing([{ status: 200, afterMs: 300 }]);
    const { app: one, counted } = app(upstream.port, {
      attempts: 1,
      perTryTimeoutMs: 100,
      appTimeoutMs: 2000,
    });
    expect(await within(one.call("a"), 1500)).toEqual({ status: 200 });
    expect(counted.attempts).toBe(1);
  });

  it("the naive loop retries 5xx, a dropped connection and a per-try timeout at once, and stops at a 2xx", async () => {
    const upstream = await billing([500, "reset", "hang", 200, 200]);
    const { app: naive, counted } = app(upstream.port, {
      attempts: 4,
      perTryTimeoutMs: 200,
      appTimeoutMs: 1500,
    });
    const { value, ms } = await timed(within(naive.call("a"), 1400));
    expect(value).toEqual({ status: 200 });
    expect(upstream.seen).toHaveLength(4);
    expect(counted.attempts).toBe(4);
    // The hung attempt ended at its per-try timeout (200 ms), long before the app's (1500 ms).
    expect(ms).toBeLessThan(1000);
  });

  it("the naive loop does not retry a 4xx or a 2xx", async () => {
    const upstream = await billing([429, 200]);
    const { app: naive, counted } = app(upstream.port, { attempts: 4 });
    expect(await within(naive.call("a"), 1500)).toEqual({ status: 429 });
    expect(await within(naive.call("b"), 1500)).toEqual({ status: 200 });
    expect(upstream.seen).toHaveLength(2);
    expect(counted.attempts).toBe(2);
  });

  it("the naive loop makes 4 attempts in all, and returns the last status", async () => {
    const upstream = await billing([503, 503, 503, 502, 200]);
    const { app: naive, counted } = app(upstream.port, { attempts: 4 });
    expect(await within(naive.call("a"), 1500)).toEqual({ status: 502 });
    expect(upstream.seen).toHaveLength(4);
    expect(counted.attempts).toBe(4);
  });

  it("the app timeout ends the naive loop: no attempt after it, and the last try cut short", async () => {
    const upstream = await billing(["hang"]);
    const { app: naive, counted } = app(upstream.port, {
      attempts: 4,
      perTryTimeoutMs: 600,
      appTimeoutMs: 800,
    });
    const { value, ms } = await timed(within(naive.call("a"), 2500));
    expect(value).toEqual({ status: undefined });
    // Tries at 0 and 600 ms; the second one gets the 200 ms left, not its 600 ms (which would end at
    // 1200), and no third starts when that timer fires a fraction of a millisecond early.
    expect(counted.attempts).toBe(2);
    expect(upstream.seen.length).toBe(2);
    expect(ms).toBeGreaterThan(700);
    expect(ms).toBeLessThan(1100);
  });

  it("a refused connection or an answer cut off mid-body is no status, at once (not at the timeout)", async () => {
    const refused = app(await closedPort(), { appTimeoutMs: 5000 }).app;
    const cutOff = app((await billing(["cut"])).port, { appTimeoutMs: 5000 }).app;
    expect(await within(refused.call("a"), 2000)).toEqual({ status: undefined });
    expect(await within(cutOff.call("b"), 2000)).toEqual({ status: undefined });
  });

  it("keeps its connection alive: sequential calls share one connection", async () => {
    const upstream = await billing([200]);
    const { app: one } = app(upstream.port, {});
    for (const name of ["a", "b", "c"]) expect(await within(one.call(name), 1500)).toEqual({ status: 200 });
    expect(upstream.seen).toHaveLength(3);
    expect(upstream.connections()).toBe(1);
  });

  it("clears its timeout once the attempt has ended, answered or not", async () => {
    // Only the app's own timers are faked: node's HTTP internals keep their real ones.
    const upstream = await billing([200, "cut"]);
    const refusedPort = await closedPort();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { app: one } = app(upstream.port, { appTimeoutMs: 60_000 });
    const { app: refused } = app(refusedPort, { appTimeoutMs: 60_000 });
    expect(await one.call("answered")).toEqual({ status: 200 });
    expect(vi.getTimerCount()).toBe(0);
    expect(await one.call("cut")).toEqual({ status: undefined });
    expect(vi.getTimerCount()).toBe(0);
    expect(await refused.call("refused")).toEqual({ status: undefined });
    expect(vi.getTimerCount()).toBe(0);
  });
});

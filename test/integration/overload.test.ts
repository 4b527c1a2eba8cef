import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ANSWERS_TO_KNOW } from "../../src/overload/late-mark.js";
import { json, type Reply, send, until, useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";

// docs/contract.md "Overload protection": one limit on the attempts in flight to the upstream,
// lifted while attempts answer within OVERLOAD_LATE_RATIO x PER_TRY_TIMEOUT_MS, cut by late ones;
// a request it does not send gets 503 overloaded at once; retries are held back first; it
// recovers by itself. Real sockets: a fake upstream on 127.0.0.1 and the real sidecar.

const s = useScenario({ status: 200, body: "ok" });

// Per-try 200 ms (late after 120 ms); no breaker and no retries unless a test wants them, so that
// every request is one attempt and only overload protection decides.
const ENV = {
  PER_TRY_TIMEOUT_MS: "200",
  CIRCUIT_FAILURE_THRESHOLD: "0",
  MAX_RETRIES: "0",
};

const limit = (h: Harness) => h.metric("retry_sidecar_upstream_concurrency_limit");
const shed = (h: Harness) => h.metric("retry_sidecar_requests_shed_total", { route: "/provider" });
const all = (h: Harness, n: number, init: RequestInit = {}) =>
  Promise.all(Array.from({ length: n }, () => send(h, "/provider", init)));
const isShed = (r: Reply) => r.status === 503 && r.text.includes('"overloaded"');

/** One retry held back: the four attempts sent, counted as skipped, logged as stopped by overload. */
async function expectRetryHeldBack(h: Harness, attemptsSent: number): Promise<void> {
  expect(s.upstream.received).toHaveLength(attemptsSent);
  expect(
    await h.metric("retry_sidecar_retries_skipped_total", { route: "/provider", reason: "overloaded" }),
  ).toBe(1);
  const line = await h.waitForLog((l) => l.msg === "request completed" && l.status === 503);
  expect(line).toMatchObject({ attempts: 1, retryStopped: "overloaded" });
}

/**
 * A few answers at the upstream's usual speed: until it has heard some, a sidecar knows nothing of
 * the upstream's latency and counts only a per-try timeout as late (a steadily slow upstream is
 * not a queue; src/overload/late-mark.ts). After these, an answer past the late mark is late.
 */
async function learnItIsFast(h: Harness, perTryMs: number): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < ANSWERS_TO_KNOW; i++) expect((await send(h)).status).toBe(200);
  // Over two per-try timeouts: what the sidecar waits for before it trusts the average.
  await sleep(Math.max(0, 2 * perTryMs - (performance.now() - started)) + 20);
  expect((await send(h)).status).toBe(200);
}

/**
 * A sidecar whose limit is cut to 4 and stays there: per-try 1 s (the 20 requests start well
 * within one round trip of each other), answered late with 20 in flight, cut to 0.2 x 20, no
 * regrowth by the clock. Retries may go while fewer than 2 attempts are in flight.
 */
async function cutToFour(backoffBaseMs: string): Promise<Harness> {
  const h = await s.start({
    ...ENV,
    PER_TRY_TIMEOUT_MS: "1000",
    MAX_RETRIES: "3",
    BACKOFF_BASE_MS: backoffBaseMs,
    OVERLOAD_DECREASE: "0.2",
    OVERLOAD_RECOVERY_MS: "600000",
  });
  await learnItIsFast(h, 1000);
  s.upstream.fallback = { status: 200, body: "slow", delayMs: 1200 };
  await all(h, 20, { headers: { "x-retry-max": "0" } });
  expect(await limit(h)).toBeCloseTo(4, 0);
  s.upstream.fallback = { status: 200, body: "ok" };
  return h;
}

describe("overload protection", () => {
  it("an upstream that turns slow: the sidecar sheds with 503 overloaded, and recovers once it is fast", async () => {
    // Per-try 500 ms (late after 300 ms), so that the 20 requests of the first wave start well
    // within one round trip even on a busy machine. The limit doubles every 300 ms without late
    // answers, from at least 0.1: slow enough for the second wave to meet it, fast enough for the
    // test to see it lifted.
    const h = await s.start({
      ...ENV,
      PER_TRY_TIMEOUT_MS: "500",
      OVERLOAD_RECOVERY_MS: "300",
      OVERLOAD_MIN_LIMIT: "0.1",
    });
    expect(await limit(h)).toBe(Number.POSITIVE_INFINITY);
    expect(await shed(h)).toBe(0);

    // 20 at once, each answered after 1 s: late with about 20 in flight, so at their per-try
    // timeout the limit is cut and their retries are held back: each is waited for past it (no
    // retry could go in its place) and answered, where cutting it would have made a 504.
    s.upstream.fallback = { status: 200, body: "slow", delayMs: 1000 };
    const first = await all(h, 20);
    expect(first.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(Math.min(...first.map((r) => r.elapsedMs))).toBeGreaterThanOrEqual(900);
    expect(s.upstream.received).toHaveLength(20); // nothing retried
    // Cut from +Inf to about one; it regrows by the clock meanwhile (doubling every 300 ms), so a
    // loaded machine may read it a few doublings later: below the 20 that were in flight.
    const cut = await limit(h);
    expect(cut).toBeLessThan(20);

    const replies = await all(h, 10);
    const refused = replies.filter(isShed);
    // The limit is about 1 (it regrows meanwhile, by how long this machine takes between the waves).
    expect(refused.length).toBeGreaterThanOrEqual(1);
    const one = refused[0] as Reply;
    expect(json(one)).toEqual({ error: "upstream overloaded", reason: "overloaded", attempts: 0 });
    expect(one.headers.get("retry-after")).toBe("1");
    expect(one.headers.get("content-type")).toMatch(/^application\/json/);
    expect(one.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(one.elapsedMs).toBeLessThan(400); // at once, not after a try
    expect(s.upstream.received).toHaveLength(20 + 10 - refused.length);
    expect(await shed(h)).toBe(refused.length);
    expect(await h.metric("retry_sidecar_requests_total", { code: "503" })).toBe(refused.length);
    const line = await h.waitForLog(
      (l) => l.msg === "request completed" && l.reqId === one.headers.get("x-request-id"),
    );
    expect(line).toMatchObject({ status: 503, attempts: 0, retryStopped: "overloaded", route: "/provider" });
    expect(line.endpoint).toBeUndefined();

    // The upstream is fast again: the limit regrows by itself and is lifted; nothing is shed.
    s.upstream.fallback = { status: 200, body: "ok" };
    await until(
      async () => (await send(h)).status === 200 && (await limit(h)) === Number.POSITIVE_INFINITY,
      10_000,
    );
    const before = await shed(h);
    expect((await all(h, 20)).map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await shed(h)).toBe(before);
  });

  it("holds a retry back while the attempts in flight are not well under the limit (skipped overloaded)", async () => {
    const h = await cutToFour("10");
    const received = s.upstream.received.length;
    const held = { status: 200, body: "held", delayMs: 150 };
    s.upstream.script(held, held, held, { status: 503, body: "busy" });
    const holding = all(h, 3); // three attempts in flight...
    await s.upstream.waitForRequests(received + 3);
    const failing = await send(h); // ...so this one goes (4th of 4), but its retry may not
    expect(failing.status).toBe(503);
    expect(failing.text).toBe("busy"); // the upstream's answer, final
    expect(failing.attempts).toBe(1);
    expect((await holding).map((r) => r.text)).toEqual(["held", "held", "held"]);
    await expectRetryHeldBack(h, received + 4);
  });

  it("a retry refused after its wait, the answer dropped for it: 503 overloaded with the attempts made", async () => {
    const h = await cutToFour("300");
    const received = s.upstream.received.length;
    const held = { status: 200, body: "held", delayMs: 400 };
    s.upstream.script({ status: 503, body: "busy" }, held, held, held);
    // Nothing else in flight: its retry may go, and is waited for (300 ms)...
    const failing = send(h);
    await s.upstream.waitForRequests(received + 1);
    // ...during which three attempts take the places it would need: admitted after the wait, it
    // is refused, and the upstream's 503 was let go of for the retry.
    const holding = all(h, 3);
    const refused = await failing;
    expect(refused.status).toBe(503);
    expect(json(refused)).toEqual({ error: "upstream overloaded", reason: "overloaded", attempts: 1 });
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await holding).map((r) => r.text)).toEqual(["held", "held", "held"]);
    await expectRetryHeldBack(h, received + 4);
  });

  it("an attempt at its per-try timeout whose retry is held back is waited for, not cut", async () => {
    // Per-try 1 s (late after 600 ms). No regrowth by the clock, so the limit stays where the
    // answers put it.
    const h = await s.start({
      ...ENV,
      PER_TRY_TIMEOUT_MS: "1000",
      REQUEST_TIMEOUT_MS: "5000",
      MAX_RETRIES: "3",
      OVERLOAD_DECREASE: "0.2",
      OVERLOAD_RECOVERY_MS: "600000",
    });
    await learnItIsFast(h, 1000);
    s.upstream.fallback = { status: 200, body: "late", delayMs: 800 };
    // Answered late, with 20 in flight: a queue. The limit falls to about 4.
    expect((await all(h, 20, { headers: { "x-retry-max": "0" } })).map((r) => r.status)).toEqual(
      Array(20).fill(200),
    );
    expect(await limit(h)).toBeCloseTo(4, 0);

    // Four at once: one answered late but in time, two still out when the fourth reaches its
    // per-try timeout (so its retry is held back), and the fourth answered after 1.6 s. Cut at
    // 1 s, it would be a 504 whose work the upstream did anyway.
    s.upstream.fallback = { status: 200, body: "ok" };
    const received = s.upstream.received.length;
    s.upstream.script(
      { status: 200, body: "late", delayMs: 700 },
      { status: 200, body: "held", delayMs: 1400 },
      { status: 200, body: "held", delayMs: 1400 },
      { status: 200, body: "waited for", delayMs: 1600 },
    );
    const replies = await all(h, 4);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(replies.map((r) => r.text).sort()).toEqual(["held", "held", "late", "waited for"]);
    const waited = replies.find((r) => r.text === "waited for") as Reply;
    expect(waited.attempts).toBe(1);
    expect(waited.elapsedMs).toBeGreaterThan(1000);
    expect(s.upstream.received).toHaveLength(received + 4); // nothing retried
    expect(
      await h.metric("retry_sidecar_upstream_attempts_total", { route: "/provider", outcome: "timeout" }),
    ).toBe(0);
  });

  it("concurrent requests to a hung upstream, their retries held back, get their 504 at the deadline", async () => {
    // Per-try 200 ms, deadline 1 s, retries allowed: ten at once against an upstream that never
    // answers in time. At their per-try timeout the limit is cut below one (ten were out), so no
    // retry may go and each attempt is waited for until the deadline, then 504 with one attempt.
    const h = await s.start({ ...ENV, MAX_RETRIES: "3", REQUEST_TIMEOUT_MS: "1000" });
    s.upstream.fallback = { status: 200, body: "too late", delayMs: 5000 };
    const replies = await all(h, 10);
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(504));
    expect(replies.map((r) => json(r).attempts)).toEqual(Array(10).fill(1));
    expect(Math.min(...replies.map((r) => r.elapsedMs))).toBeGreaterThanOrEqual(900);
    expect(s.upstream.received).toHaveLength(10); // nothing retried
    // The log says how long the attempt was waited for: the per-try timeout and the wait past it.
    const line = await h.waitForLog((l) => l.msg === "request completed" && l.status === 504);
    expect(line.error).toMatchObject({ code: "UPSTREAM_TIMEOUT" });
    const waited = Number(/^no response headers within (\d+) ms$/.exec((line.error as Error).message)?.[1]);
    // About the request's 1-s deadline: the per-try timer may fire a millisecond early by the clock.
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThanOrEqual(1010);
  });

  it("OVERLOAD_BLIND_RETRIES=off: a timeout is retried only if another attempt was answered in time while it was out", async () => {
    // Per-try 500 ms, deadline 2 s, three retries. Alone, a request that hangs is not retried (this
    // sidecar heard nothing answered in time while it was out: a queue, for all it knows) but
    // waited for until the deadline; with other requests answered in time meanwhile, it is retried.
    const h = await s.start({
      ...ENV,
      PER_TRY_TIMEOUT_MS: "500",
      MAX_RETRIES: "3",
      REQUEST_TIMEOUT_MS: "2000",
      OVERLOAD_BLIND_RETRIES: "off",
      OVERLOAD_RECOVERY_MS: "20",
    });
    expect((await send(h)).status).toBe(200);
    s.upstream.fallback = { status: 200, body: "too late", delayMs: 5000 };
    const alone = await send(h);
    expect(alone.status).toBe(504);
    expect(json(alone).attempts).toBe(1);
    expect(alone.elapsedMs).toBeGreaterThanOrEqual(1900);
    expect(s.upstream.received).toHaveLength(2);

    // That late attempt cut the limit; it lifts by the clock (OVERLOAD_RECOVERY_MS 20 here).
    await until(async () => (await limit(h)) === Number.POSITIVE_INFINITY, 3000);
    s.upstream.fallback = { status: 200, body: "ok" };
    s.upstream.script({ status: 200, body: "too late", delayMs: 5000 });
    const hung = send(h);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await all(h, 3)).map((r) => r.status)).toEqual([200, 200, 200]); // answered in time
    const retried = await hung;
    expect(retried.status).toBe(200);
    expect(retried.attempts).toBe(2);
  });

  it("OVERLOAD_PROTECTION=off never sheds; the limit gauge is +Inf; attempts in flight are counted", async () => {
    const h = await s.start({ ...ENV, OVERLOAD_PROTECTION: "off" });
    s.upstream.fallback = { status: 200, body: "slow", delayMs: 400 };
    expect((await all(h, 20)).map((r) => r.status)).toEqual(Array(20).fill(504));
    expect((await all(h, 10)).map((r) => r.status)).toEqual(Array(10).fill(504));
    expect(await shed(h)).toBe(0);
    expect(await limit(h)).toBe(Number.POSITIVE_INFINITY);

    s.upstream.fallback = { status: 200, body: "ok", delayMs: 150 };
    const running = all(h, 5);
    await until(async () => (await h.metric("retry_sidecar_upstream_in_flight")) === 5, 2000);
    await running;
    expect(await h.metric("retry_sidecar_upstream_in_flight")).toBe(0);
  });

  it("a caller that sends one request after the other to a hung upstream is never shed: its timeouts open the circuit", async () => {
    // Defaults (breaker at 10 consecutive failures, overload protection on) but a short per-try
    // timeout. One request at a time builds no queue, so nothing tells overload protection that
    // other requests share one: every request is sent, and the breaker stops the traffic.
    const h = await s.start({ PER_TRY_TIMEOUT_MS: "200" });
    s.upstream.fallback = { status: 200, body: "too late", delayMs: 3000 };
    const oneAtATime: number[] = [];
    for (let i = 0; i < 10; i++) {
      oneAtATime.push((await send(h, "/provider", { headers: { "x-retry-max": "0" } })).status);
    }
    expect(oneAtATime).toEqual(Array(10).fill(504));
    const eleventh = await send(h, "/provider", { headers: { "x-retry-max": "0" } });
    expect(eleventh.status).toBe(503);
    expect(json(eleventh)).toMatchObject({ reason: "circuit_open" });
    expect(await shed(h)).toBe(0);
    expect(s.upstream.received).toHaveLength(10);
  });

  it.each([
    // A per-try timeout of 1 s for a call that takes up to 400 ms: late after 600 ms.
    ["steady 300 ms, per-try timeout 1 s", "1000", () => 300],
    ["jittery 20-400 ms, per-try timeout 1 s", "1000", () => 20 + Math.floor(380 * Math.random())],
    // Per-try 500 ms: every answer (or the slowest) comes past 0.6 x 500 ms, steadily. Healthy,
    // slow: the late mark follows the upstream's usual latency, up to the per-try timeout.
    ["steady 320 ms, per-try timeout 500 ms", "500", () => 320],
    ["jittery 20-450 ms, per-try timeout 500 ms", "500", () => 20 + Math.floor(430 * Math.random())],
  ])("a healthy upstream, %s, under concurrent load sheds nothing", async (_name, perTry, delay) => {
    const h = await s.start({ PER_TRY_TIMEOUT_MS: perTry });
    // A retry (an attempt a loaded machine held past its per-try timeout) finds the script used
    // up: it too takes the upstream's shortest time.
    s.upstream.fallback = { status: 200, body: "ok", delayMs: 20 };
    for (let wave = 0; wave < 4; wave++) {
      s.upstream.script(...Array.from({ length: 40 }, () => ({ status: 200, body: "ok", delayMs: delay() })));
      expect((await all(h, 40)).map((r) => r.status)).toEqual(Array(40).fill(200));
    }
    expect(await shed(h)).toBe(0);
    expect(await limit(h)).toBe(Number.POSITIVE_INFINITY);
    // Every attempt is in the histogram, none faster than the upstream's 20 ms.
    const exposition = await (await fetch(`${h.adminUrl}/metrics`)).text();
    const sum = (prefix: string) =>
      exposition
        .split("\n")
        .filter((l) => l.startsWith(prefix))
        .reduce((total, l) => total + Number(l.split(" ")[1]), 0);
    const attempts = await h.metric("retry_sidecar_upstream_attempts_total");
    expect(attempts).toBeGreaterThanOrEqual(160);
    expect(sum("retry_sidecar_upstream_attempt_duration_seconds_count{")).toBe(attempts);
    expect(sum('retry_sidecar_upstream_attempt_duration_seconds_bucket{le="0.01"')).toBe(0);
  });
});

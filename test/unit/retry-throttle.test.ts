import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../src/retry/circuit-breaker.js";
import type { AttemptOutcome } from "../../src/retry/outcome.js";
import { RetryBudget } from "../../src/retry/retry-budget.js";
import { type Attempt, runWithRetries } from "../../src/retry/retry-loop.js";
import { NO_THROTTLE, TokenRetryThrottle } from "../../src/retry/retry-throttle.js";

// The throttle is event-driven: it has no clock at all. These tests feed it outcomes and ask.

const options = { tokens: 3, ratio: 0.5, probeRatio: 0.25 };

describe("TokenRetryThrottle", () => {
  it("engages after `tokens` failed attempts in a row, first attempts and retries alike", () => {
    const t = new TokenRetryThrottle(options);
    t.record(false, true);
    expect(t.allows()).toBe(true);
    t.take();
    t.record(true, true);
    expect(t.allows()).toBe(true);
    t.take();
    t.record(true, true);
    expect(t.level).toBe(0);
    expect(t.allows()).toBe(false);
  });

  it("a success earns `ratio`, a failure costs 1, within [0, tokens]", () => {
    const t = new TokenRetryThrottle(options);
    t.record(false, true);
    t.record(false, true);
    expect(t.level).toBe(1);
    t.record(false, false);
    expect(t.level).toBe(1.5);
    for (let i = 0; i < 10; i++) t.record(false, false);
    expect(t.level).toBe(3);
    for (let i = 0; i < 10; i++) t.record(false, true);
    expect(t.level).toBe(0);
  });

  it("well below ratio/(1+ratio) failures every failure may be retried; well above it none", () => {
    const below = new TokenRetryThrottle(options);
    const above = new TokenRetryThrottle(options);
    const allowedAfterFailure = { below: 0, above: 0 };
    for (let i = 0; i < 300; i++) {
      below.record(false, i % 4 === 0); // 25% fail (ratio 0.5 balances at a third)
      if (i % 4 === 0 && below.allows()) allowedAfterFailure.below += 1;
      above.record(false, i % 5 < 3); // 60% fail
      if (i >= 50 && i % 5 < 3 && above.allows()) allowedAfterFailure.above += 1;
    }
    expect(allowedAfterFailure).toEqual({ below: 75, above: 0 });
  });

  it("retries that succeed where first attempts fail (a sick instance on a kept-alive connection) keep going", () => {
    const t = new TokenRetryThrottle({ ...options, ratio: 0 });
    for (let i = 0; i < 100; i++) {
      t.request();
      t.record(false, true); // the first attempt fails on the sticky connection
      expect(t.allows()).toBe(true);
      t.take();
      t.record(true, false); // the retry, on a fresh connection, succeeds
    }
    expect(t.level).toBe(0); // the bucket alone would have stopped them long ago
  });

  it("retries that do no better than first attempts earn nothing of the kind", () => {
    const t = new TokenRetryThrottle({ ...options, ratio: 0 });
    for (let i = 0; i < 100; i++) {
      t.record(false, i % 2 === 0);
      if (t.allows()) t.record(true, i % 4 < 2);
    }
    expect(t.allows()).toBe(false);
  });

  it("half the first attempts failing and two retries in three succeeding (two connections, one sick): keeps retrying", () => {
    const t = new TokenRetryThrottle({ tokens: 5, ratio: 0.7, probeRatio: 0.05 });
    let retries = 0;
    let denied = 0;
    for (let i = 0; i < 300; i++) {
      t.request();
      t.record(false, i % 2 === 0);
      if (i % 2 !== 0) continue;
      for (let r = 0; r < 3; r++) {
        if (!t.allows()) {
          denied += 1;
          break;
        }
        t.take();
        retries += 1;
        const failed = retries % 3 === 0;
        t.record(true, failed);
        if (!failed) break;
      }
    }
    expect(t.retrySuccess).toBeGreaterThan(0.6);
    expect(denied).toBe(0);
  });

  it("random 50% failures, retries included: far fewer retries than without the throttle", () => {
    let x = 7; // mulberry32: a seeded, even coin, the same sequence for both runs
    const coin = () => {
      x = (x + 0x6d2b79f5) | 0;
      let z = Math.imul(x ^ (x >>> 15), 1 | x);
      z = (z + Math.imul(z ^ (z >>> 7), 61 | z)) ^ z;
      return ((z ^ (z >>> 14)) >>> 0) / 4_294_967_296 < 0.5;
    };
    const retriesIn = (throttle: TokenRetryThrottle | undefined): number => {
      x = 7;
      let retries = 0;
      for (let i = 0; i < 400; i++) {
        throttle?.request();
        const failed = coin();
        throttle?.record(false, failed);
        for (let r = 0; failed && r < 3; r++) {
          if (throttle !== undefined && !throttle.allows()) break;
          throttle?.take();
          if (i >= 200) retries += 1;
          const again = coin();
          throttle?.record(true, again);
          if (!again) break;
        }
      }
      return retries;
    };
    const t = new TokenRetryThrottle({ tokens: 5, ratio: 0.7, probeRatio: 0.05 });
    const unthrottled = retriesIn(undefined);
    const throttled = retriesIn(t);
    expect(unthrottled).toBeGreaterThan(120);
    expect(throttled).toBeLessThan(unthrottled * 0.6);
  });

  it("after 4 failed attempts in a row retries go, unless retries have been shown worthless", () => {
    const t = new TokenRetryThrottle({ tokens: 1, ratio: 0.7, probeRatio: 0 });
    t.record(false, true);
    t.take();
    t.record(true, false); // one retry, which worked
    t.record(false, true);
    t.take();
    t.record(true, true); // the next did not: the bucket is empty, two retries are little evidence
    const allowed: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      t.record(false, true); // first attempts failing on a sticky connection
      allowed.push(t.allows());
    }
    expect(allowed).toEqual([false, true, true, true]);
    t.take();
    t.record(true, false); // the retry worked where first attempts fail: lift takes over
    t.record(false, true);
    expect(t.allows()).toBe(true);
    // Three failed retries are enough evidence that retries do not help (an outage).
    const worthless = new TokenRetryThrottle({ tokens: 1, ratio: 0.7, probeRatio: 0 });
    for (let i = 0; i < 3; i++) worthless.record(true, true);
    for (let i = 0; i < 8; i++) {
      worthless.record(false, true);
      expect(worthless.allows()).toBe(false);
    }
  });

  it("once engaged, lets one probe retry go per 1/probeRatio requests, and a successful one opens it", () => {
    const t = new TokenRetryThrottle(options);
    for (let i = 0; i < 3; i++) t.record(true, true); // retries that fail: no other way open
    const allowed: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      t.request();
      t.record(false, true);
      allowed.push(t.allows());
      if (t.allows()) {
        t.take();
        t.record(true, true); // the probe fails: still engaged
      }
    }
    // 0.25 per request: the 4th and the 8th request may probe.
    expect(allowed).toEqual([false, false, false, true, false, false, false, true]);
    for (let i = 0; i < 4; i++) t.request();
    t.take();
    t.record(true, false); // the probe succeeds
    expect(t.level).toBe(0.5);
    expect(t.allows()).toBe(true);
  });

  it("probe credit does not pile up while the throttle is open, nor beyond one probe", () => {
    const t = new TokenRetryThrottle(options);
    for (let i = 0; i < 100; i++) t.request(); // open: no credit earned
    for (let i = 0; i < 3; i++) t.record(false, true);
    expect(t.allows()).toBe(false);
    for (let i = 0; i < 100; i++) t.request(); // engaged: at most one probe banked
    expect(t.allows()).toBe(true);
    t.take();
    expect(t.allows()).toBe(false);
  });

  it("NO_THROTTLE (RETRY_THROTTLE=off) always allows", () => {
    for (let i = 0; i < 100; i++) NO_THROTTLE.record(true, true);
    expect(NO_THROTTLE.allows()).toBe(true);
  });
});

describe("the retry loop with the throttle", () => {
  const unavailable: AttemptOutcome = { kind: "response", status: 503, retryAfter: undefined };

  function run(throttle: TokenRetryThrottle | undefined, skipped: string[]) {
    let now = 0;
    const send = async (attempt: number): Promise<Attempt<number>> => ({
      outcome: unavailable,
      response: attempt,
      discard: () => {},
    });
    return runWithRetries(
      {
        route: "/provider",
        requestId: "r",
        maxRetries: 3,
        replayable: true,
        idempotent: true,
        deadlineAt: 20_000,
        signal: new AbortController().signal,
        breaker: new CircuitBreaker({ failureThreshold: 0, openMs: 1000 }, () => now),
        budget: new RetryBudget({ ratio: 0, minPerSec: 1000 }, () => now),
        isProbe: false,
      },
      send,
      {
        retryOnStatus: new Set([503]),
        backoff: { baseMs: 100, maxMs: 1000, jitter: 0 },
        retryAfterMaxMs: 30_000,
        perTryTimeoutMs: 1000,
      },
      {
        clock: () => now,
        sleep: async (ms) => {
          now += ms;
        },
        random: () => 0.5,
        throttle,
        events: { attempt() {}, retry() {}, skipped: (_route, reason) => skipped.push(reason) },
      },
    );
  }

  it("stops with 'throttled' and the last outcome once the failed attempts spent the tokens", async () => {
    const throttle = new TokenRetryThrottle({ tokens: 3, ratio: 1, probeRatio: 0 });
    const skipped: string[] = [];
    const first = await run(throttle, skipped);
    // The first attempt and two retries spend the three tokens; the third retry is refused.
    expect(first).toMatchObject({ attempts: 3, retries: 2, stop: "throttled", retryable: true });
    expect(first.last?.response).toBe(3);
    // Four failed attempts in a row with two failed retries as the only evidence: one more retry
    // goes (a pod stuck on a sick instance must not stop retrying on so little); after it, three
    // failed retries show that retries do not help.
    const second = await run(throttle, skipped);
    expect(second).toMatchObject({ attempts: 2, retries: 1, stop: "throttled" });
    const third = await run(throttle, skipped);
    expect(third).toMatchObject({ attempts: 1, retries: 0, stop: "throttled" });
    expect(skipped).toEqual(["throttled", "throttled", "throttled"]);
  });

  it("without a throttle (RETRY_THROTTLE=off) the loop retries as before", async () => {
    const skipped: string[] = [];
    for (let i = 0; i < 5; i++) {
      expect(await run(undefined, skipped)).toMatchObject({ attempts: 4, stop: "exhausted" });
    }
    expect(skipped).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import { OverloadProtection } from "../../src/overload/overload-protection.js";
import { ShutdownAbort } from "../../src/retry/abort-cause.js";
import { CircuitBreaker } from "../../src/retry/circuit-breaker.js";
import type { AttemptOutcome } from "../../src/retry/outcome.js";
import type { OverloadGate } from "../../src/retry/overload-gate.js";
import { RetryBudget } from "../../src/retry/retry-budget.js";
import {
  type Attempt,
  type RetryPolicy,
  type RetryRequest,
  runWithRetries,
} from "../../src/retry/retry-loop.js";

// The loop on virtual time: `sleep` advances the fake clock instead of waiting, so a run with
// three backoffs of 0.5, 1 and 2 s takes microseconds and every delay is known exactly.

const policy: RetryPolicy = {
  retryOnStatus: new Set([408, 429, 500, 502, 503, 504]),
  backoff: { baseMs: 500, maxMs: 10_000, jitter: 0 },
  retryAfterMaxMs: 30_000,
  perTryTimeoutMs: 5000,
};

// Overload protection off (admits everything); the overload tests below turn it on.
const overloadOff = {
  enabled: false,
  lateMs: 4000,
  decrease: 0.5,
  recoveryMs: 1000,
  minLimit: 0.05,
  maxLimit: 1000,
  retryShare: 0.5,
};

const status = (s: number, retryAfter?: string): AttemptOutcome => ({
  kind: "response",
  status: s,
  retryAfter,
});
const reset: AttemptOutcome = { kind: "failure", failure: "reset", retryable: true };
const refused: AttemptOutcome = { kind: "failure", failure: "connect_error", retryable: true };
const timeout: AttemptOutcome = { kind: "failure", failure: "timeout", retryable: true };

function setup(
  outcomes: AttemptOutcome[],
  request: Partial<RetryRequest> = {},
  budgetMinPerSec = 10,
  gate?: OverloadGate,
  latencyMs = 0,
) {
  const clock = { now: 1_000_000 };
  const slept: number[] = [];
  const timeouts: number[] = [];
  const events: string[] = [];
  const controller = new AbortController();
  const breaker = new CircuitBreaker({ failureThreshold: 0, openMs: 1000 }, () => clock.now);
  const discarded: number[] = [];
  const overload = gate ?? new OverloadProtection(overloadOff, () => clock.now);
  const send = async (attempt: number, timeoutMs: number): Promise<Attempt<number>> => {
    timeouts.push(timeoutMs);
    clock.now += latencyMs;
    const outcome = outcomes[Math.min(attempt - 1, outcomes.length - 1)] as AttemptOutcome;
    return { outcome, response: attempt, discard: () => discarded.push(attempt) };
  };
  const run = () =>
    runWithRetries(
      {
        route: "/provider",
        requestId: "req-1",
        maxRetries: 3,
        replayable: true,
        idempotent: true,
        deadlineAt: clock.now + 20_000,
        signal: controller.signal,
        breaker,
        budget: new RetryBudget({ ratio: 0, minPerSec: budgetMinPerSec }, () => clock.now),
        isProbe: false,
        ...request,
      },
      send,
      policy,
      {
        clock: () => clock.now,
        sleep: async (ms) => {
          slept.push(ms);
          clock.now += ms;
        },
        random: () => 0.5,
        overload,
        events: {
          attempt: (_route, outcome, durationMs) =>
            events.push(latencyMs === 0 ? `attempt ${outcome}` : `attempt ${outcome} ${durationMs}ms`),
          retry: (_route, id, attempt, delayMs, reason) =>
            events.push(`retry ${id} #${attempt} ${delayMs}ms ${reason}`),
          skipped: (_route, reason) => events.push(`skipped ${reason}`),
        },
      },
    );
  return { run, clock, slept, timeouts, events, controller, discarded, breaker, overload };
}

/** An overload gate that answers as told and records what the loop tells it. */
function fakeGate(allowed: boolean, admits: boolean) {
  const calls: string[] = [];
  const gate: OverloadGate = {
    admitFirst: () => true,
    retryAllowed: () => {
      calls.push("asked");
      return allowed;
    },
    admitRetry: () => {
      calls.push(admits ? "admitted" : "refused");
      return admits;
    },
    finished: (sentAt, now) => calls.push(`finished ${now - sentAt}ms`),
    release: () => calls.push("released"),
    waitsPastTimeout: () => false,
  };
  return { gate, calls };
}

describe("retry loop and overload protection", () => {
  it("a retry it holds back is not waited for: the last answer is final (skipped overloaded)", async () => {
    const { gate, calls } = fakeGate(false, false);
    const t = setup([status(503), status(200)], {}, 10, gate);
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 1, retries: 0, stop: "overloaded", retryable: true });
    expect(result.last?.response).toBe(1);
    expect(t.slept).toEqual([]);
    expect(t.events).toEqual(["attempt 503", "skipped overloaded"]);
    expect(calls).toEqual(["finished 0ms", "asked"]);
  });

  it("a retry refused after its wait (the limit fell meanwhile): no attempt; the dropped response is gone", async () => {
    const { gate, calls } = fakeGate(true, false);
    const t = setup([status(503), status(200)], {}, 10, gate);
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 1, stop: "overloaded", retryable: true, last: undefined });
    expect(t.slept).toEqual([500]);
    expect(t.timeouts).toHaveLength(1);
    expect(t.events).toEqual(["attempt 503", "skipped overloaded"]);
    expect(calls).toEqual(["finished 0ms", "asked", "refused"]);
  });

  it("every attempt's end is told with its send time, and its duration goes to the attempt event", async () => {
    const { gate, calls } = fakeGate(true, true);
    const t = setup([status(503), status(200)], {}, 10, gate, 120);
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 2, stop: "not_retryable" });
    expect(calls).toEqual(["finished 120ms", "asked", "admitted", "finished 120ms"]);
    expect(t.events).toEqual(["attempt 503 120ms", "retry req-1 #2 500ms 503", "attempt 200 120ms"]);
  });

  it("an attempt whose client left is released, not finished (it says nothing of the upstream)", async () => {
    const { gate, calls } = fakeGate(true, true);
    const t = setup([status(503)], {}, 10, gate);
    t.controller.abort();
    await t.run();
    expect(calls).toEqual(["released"]);
  });
});

describe("retry loop", () => {
  it("retries with 0.5, 1, 2 s backoff and returns the recovered response", async () => {
    const t = setup([status(503), reset, status(502), status(201)]);
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 4, retries: 3, stop: "not_retryable", retryable: false });
    expect(result.last?.response).toBe(4);
    expect(t.slept).toEqual([500, 1000, 2000]);
    expect(t.discarded).toEqual([1, 2, 3]); // every superseded response is freed
    expect(t.events).toEqual([
      "attempt 503",
      "retry req-1 #2 500ms 503",
      "attempt reset",
      "retry req-1 #3 1000ms reset",
      "attempt 502",
      "retry req-1 #4 2000ms 502",
      "attempt 201",
    ]);
  });

  it("stops after MAX_RETRIES with the last response, reported as exhausted", async () => {
    const t = setup([status(503)]);
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 4, retries: 3, stop: "exhausted", retryable: true });
    expect(result.last?.response).toBe(4);
    expect(t.discarded).toEqual([1, 2, 3]);
  });

  it("waits exactly the Retry-After", async () => {
    const t = setup([status(429, "3"), status(200)]);
    await t.run();
    expect(t.slept).toEqual([3000]);
  });

  it("stops when the next wait would pass the deadline, and clips a try to the time left", async () => {
    const t = setup([status(503)], { maxRetries: 10 });
    const result = await t.run();
    // Waits 0.5+1+2+4+8 = 15.5 s of the 20 s; the next (10 s, capped) does not fit.
    expect(t.slept).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(t.timeouts).toEqual([5000, 5000, 5000, 5000, 5000, 4500]);
    expect(result).toMatchObject({ attempts: 6, retries: 5, stop: "deadline" });
    expect(t.events.at(-1)).toBe("skipped deadline");
  });

  it("a streamed body is sent once", async () => {
    const t = setup([status(503)], { replayable: false });
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 1, stop: "body_too_large" });
    expect(t.events).toEqual(["attempt 503", "skipped body_too_large"]);
  });

  it("the budget stops retries and says so", async () => {
    const t = setup([status(503)], {}, 0.1); // one retry per 10 s window
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 2, retries: 1, stop: "budget" });
    expect(t.events.at(-1)).toBe("skipped budget");
  });

  it("a client that leaves during the wait cancels the next attempt", async () => {
    const t = setup([status(503), status(200)]);
    const running = runAbortingDuringSleep(t);
    const result = await running;
    expect(result).toMatchObject({ attempts: 1, stop: "client_gone", last: undefined });
    expect(t.events).toEqual(["attempt 503", "skipped client_gone"]);
  });

  it("shutdown cutting an attempt off is told apart from a client that left", async () => {
    const t = setup([status(503)]);
    t.controller.abort(new ShutdownAbort());
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 1, stop: "shutdown", last: undefined });
    expect(t.events).toEqual([]);
  });

  it("shutdown cutting the wait off is not a retry skipped for client_gone", async () => {
    const t = setup([status(503), status(200)]);
    const result = await runAbortingDuringSleep(t, new ShutdownAbort());
    expect(result).toMatchObject({ attempts: 1, stop: "shutdown", last: undefined });
    expect(t.events).toEqual(["attempt 503"]);
  });

  it.each([
    ["a 503", status(503)],
    ["a reset", reset],
    ["a timeout", timeout],
  ])("a request that may not be repeated is final after %s (not_idempotent)", async (_name, outcome) => {
    const t = setup([outcome, status(200)], { idempotent: false });
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 1, retries: 0, stop: "not_idempotent", retryable: true });
    expect(t.events.at(-1)).toBe("skipped not_idempotent");
  });

  it("a request that may not be repeated is retried after a failure to connect", async () => {
    const t = setup([refused, refused, status(201)], { idempotent: false });
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 3, retries: 2, stop: "not_retryable" });
  });

  it("a client that leaves during an attempt: nothing counted, nothing retried", async () => {
    const t = setup([status(503)]);
    t.controller.abort();
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 1, stop: "client_gone", last: undefined });
    expect(t.events).toEqual([]);
    expect(t.discarded).toEqual([1]);
  });

  it("feeds every outcome to the breaker, and an open circuit stops the retries", async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, openMs: 10_000 }, () => 0);
    const t = setup([status(503)], { breaker });
    const result = await t.run();
    expect(result).toMatchObject({ attempts: 2, retries: 1, stop: "circuit_open", retryable: true });
    expect(result.last?.response).toBe(2); // the request returns its last outcome
    expect(breaker.current()).toBe("open");
  });
});

/** Runs the loop with a sleep that aborts the client's signal instead of waiting. */
async function runAbortingDuringSleep(t: ReturnType<typeof setup>, reason?: unknown) {
  const original = t.controller;
  const result = await runWithRetries(
    {
      route: "/provider",
      requestId: "req-1",
      maxRetries: 3,
      replayable: true,
      idempotent: true,
      deadlineAt: t.clock.now + 20_000,
      signal: original.signal,
      breaker: t.breaker,
      budget: new RetryBudget({ ratio: 0, minPerSec: 10 }, () => t.clock.now),
      isProbe: false,
    },
    async (attempt) => ({ outcome: status(attempt === 1 ? 503 : 200), response: attempt, discard: () => {} }),
    policy,
    {
      clock: () => t.clock.now,
      sleep: async () => original.abort(reason),
      random: () => 0.5,
      overload: t.overload,
      events: {
        attempt: (_r, outcome) => t.events.push(`attempt ${outcome}`),
        retry: () => t.events.push("retry"),
        skipped: (_r, reason) => t.events.push(`skipped ${reason}`),
      },
    },
  );
  return result;
}

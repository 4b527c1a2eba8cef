import { createHook } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../src/retry/circuit-breaker.js";
import type { AttemptOutcome } from "../../src/retry/outcome.js";
import { NO_OVERLOAD, type OverloadGate } from "../../src/retry/overload-gate.js";
import { RetryBudget } from "../../src/retry/retry-budget.js";
import type {
  Attempt,
  RetryDeps,
  RetryPolicy,
  RetryRequest,
  RetryResult,
} from "../../src/retry/retry-loop.js";
import {
  type AttemptReceiver,
  type AttemptStarter,
  RetryRun,
  type RunEnded,
} from "../../src/retry/retry-run.js";
import { NO_THROTTLE, type RetryThrottle } from "../../src/retry/retry-throttle.js";

// The retry loop's state machine, driven by hand: the sender keeps each attempt's receiver and the
// test says when and how the attempt ends, on a fake clock. Nothing here waits.

const ok: AttemptOutcome = { kind: "response", status: 200, retryAfter: undefined };
const unavailable: AttemptOutcome = { kind: "response", status: 503, retryAfter: undefined };

const policy: RetryPolicy = {
  retryOnStatus: new Set([503]),
  backoff: { baseMs: 100, maxMs: 1000, jitter: 0 },
  retryAfterMaxMs: 30_000,
  perTryTimeoutMs: 1000,
};

function setup(
  options: {
    endDuringStart?: AttemptOutcome[];
    throwOnAttemptEvent?: boolean;
    overload?: OverloadGate;
    circuitThreshold?: number;
    throttle?: RetryThrottle;
    /** The sender throws when asked to start this attempt (a bug below). */
    startThrowsAt?: number;
  } = {},
) {
  const clock = { now: 10_000 };
  const events: string[] = [];
  const ends: string[] = [];
  const receivers: AttemptReceiver<number>[] = [];
  const sleeps: Array<() => void> = [];
  const starter: AttemptStarter<number> & { target: string | undefined } = {
    target: undefined,
    start(attempt, timeoutMs, receiver) {
      if (attempt === options.startThrowsAt) throw new Error("sender bug");
      starter.target = `endpoint-${attempt}`;
      events.push(`start #${attempt} ${timeoutMs}ms`);
      const outcome = options.endDuringStart?.[attempt - 1];
      if (outcome !== undefined) receiver.attemptEnded(attemptOf(outcome, attempt));
      else receivers.push(receiver);
    },
  };
  const request: RetryRequest = {
    route: "/provider",
    requestId: "r-1",
    maxRetries: 2,
    replayable: true,
    idempotent: true,
    deadlineAt: clock.now + 5000,
    signal: new AbortController().signal,
    breaker: new CircuitBreaker(
      { failureThreshold: options.circuitThreshold ?? 0, openMs: 1000 },
      () => clock.now,
    ),
    budget: new RetryBudget({ ratio: 0, minPerSec: 100 }, () => clock.now),
    isProbe: false,
  };
  const deps: RetryDeps = {
    clock: () => clock.now,
    sleep: (ms) => {
      events.push(`sleep ${ms}ms`);
      return new Promise((resolve) => sleeps.push(resolve));
    },
    random: () => 0.5,
    overload: options.overload,
    throttle: options.throttle,
    events: {
      attempt: (_route, outcome, durationMs) => {
        if (options.throwOnAttemptEvent) throw new Error("subscriber bug");
        events.push(`attempt ${outcome} ${durationMs}ms`);
      },
      retry: (_route, id, attempt, delayMs, reason, target) =>
        events.push(`retry ${id} #${attempt} ${delayMs}ms ${reason} to ${target}`),
      skipped: (_route, reason) => events.push(`skipped ${reason}`),
    },
  };
  let result: RetryResult<number> | undefined;
  const ended: RunEnded<number> = {
    retriesEnded: (r) => {
      result = r;
      ends.push(`ended ${r.stop} after ${r.attempts}`);
    },
    retriesFailed: (error) => ends.push(`failed ${(error as Error).message}`),
  };
  const run = new RetryRun(request, starter, policy, deps, ended);
  return { run, request, clock, events, ends, receivers, sleeps, result: () => result };
}

function attemptOf(outcome: AttemptOutcome, response: number): Attempt<number> {
  return { outcome, response, discard() {} };
}

/** Promises created while `body` runs (it must run synchronously). */
function promisesCreatedBy(body: () => void): number {
  let created = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === "PROMISE") created++;
    },
  });
  hook.enable();
  try {
    body();
  } finally {
    hook.disable();
  }
  return created;
}

describe("the retry loop's state machine (RetryRun)", () => {
  it("a first attempt that succeeds makes no promise, whether it ends later or during start", () => {
    const later = setup();
    const created = promisesCreatedBy(() => {
      later.run.start();
      later.clock.now += 7;
      later.receivers[0]?.attemptEnded(attemptOf(ok, 1));
    });
    expect(later.ends).toEqual(["ended not_retryable after 1"]);
    expect(later.events).toEqual(["start #1 1000ms", "attempt 200 7ms"]);
    expect(created).toBe(0);

    const early = setup({ endDuringStart: [ok] });
    expect(promisesCreatedBy(() => early.run.start())).toBe(0);
    expect(early.ends).toEqual(["ended not_retryable after 1"]);
  });

  it("the run is its own result: the last attempt, the counts and why it stopped", () => {
    const t = setup();
    t.run.start();
    t.receivers[0]?.attemptEnded(attemptOf(ok, 1));
    expect(t.result()).toBe(t.run);
    expect(t.run).toMatchObject({ attempts: 1, retries: 0, stop: "not_retryable", retryable: false });
    expect(t.run.last?.response).toBe(1);
  });

  it("a retryable answer waits on the injected sleep, then sends the retry and names its target", async () => {
    const t = setup();
    t.run.start();
    t.receivers[0]?.attemptEnded(attemptOf(unavailable, 1));
    expect(t.events).toEqual(["start #1 1000ms", "attempt 503 0ms", "sleep 100ms"]);
    expect(t.receivers).toHaveLength(1); // nothing is sent before the wait is over
    t.clock.now += 100;
    t.sleeps[0]?.();
    await Promise.resolve();
    expect(t.events.slice(3)).toEqual(["start #2 1000ms", "retry r-1 #2 100ms 503 to endpoint-2"]);
    t.receivers[1]?.attemptEnded(attemptOf(ok, 2));
    expect(t.ends).toEqual(["ended not_retryable after 2"]);
    expect(t.run).toMatchObject({ attempts: 2, retries: 1 });
  });

  it("an attempt that ends during its own start is judged after its retry event", async () => {
    const t = setup({ endDuringStart: [unavailable, ok] });
    t.run.start();
    t.sleeps[0]?.();
    await Promise.resolve();
    expect(t.events).toEqual([
      "start #1 1000ms",
      "attempt 503 0ms",
      "sleep 100ms",
      "start #2 1000ms",
      "retry r-1 #2 100ms 503 to endpoint-2",
      "attempt 200 0ms",
    ]);
    expect(t.ends).toEqual(["ended not_retryable after 2"]);
  });

  it("a bug below (here a subscriber that throws) ends the run once, never inside the sender's callback", () => {
    const t = setup({ throwOnAttemptEvent: true });
    t.run.start();
    expect(() => t.receivers[0]?.attemptEnded(attemptOf(ok, 1))).not.toThrow();
    expect(t.ends).toEqual(["failed subscriber bug"]);
    t.receivers[0]?.attemptEnded(attemptOf(ok, 1)); // a late second callback is ignored
    expect(t.ends).toEqual(["failed subscriber bug"]);
  });

  it("a sender that throws, at the first attempt or at a retry after its wait, fails the run once; so does an attempt that breaks", async () => {
    const first = setup({ startThrowsAt: 1 });
    expect(() => first.run.start()).not.toThrow();
    expect(first.ends).toEqual(["failed sender bug"]);

    const retry = setup({ startThrowsAt: 2 });
    retry.run.start();
    retry.receivers[0]?.attemptEnded(attemptOf(unavailable, 1));
    retry.sleeps[0]?.();
    await Promise.resolve();
    expect(retry.ends).toEqual(["failed sender bug"]);

    const broken = setup();
    broken.run.start();
    broken.receivers[0]?.attemptBroke(new Error("attempt broke"));
    expect(broken.ends).toEqual(["failed attempt broke"]);
  });

  it("a bug that ends the run gives back the place in flight of the attempt out, once", async () => {
    /** Places in flight: the first attempt's was taken at admission, before the run. */
    const counting = () => {
      const gate = { inFlight: 1 } as OverloadGate & { inFlight: number };
      Object.assign(gate, {
        ...NO_OVERLOAD,
        admitRetry: () => ++gate.inFlight > 0,
        finished: () => void gate.inFlight--,
        release: () => void gate.inFlight--,
      });
      return gate;
    };
    const first = counting();
    setup({ startThrowsAt: 1, overload: first }).run.start();
    expect(first.inFlight).toBe(0);

    const retry = counting();
    const r = setup({ startThrowsAt: 2, overload: retry });
    r.run.start();
    r.receivers[0]?.attemptEnded(attemptOf(unavailable, 1));
    expect(retry.inFlight).toBe(0);
    r.sleeps[0]?.();
    await Promise.resolve();
    expect(r.ends).toEqual(["failed sender bug"]);
    expect(retry.inFlight).toBe(0); // the retry admitted after the wait, then given back

    const broken = counting();
    const b = setup({ overload: broken });
    b.run.start();
    b.receivers[0]?.attemptBroke(new Error("attempt broke"));
    expect(broken.inFlight).toBe(0);

    // A bug after the attempt was judged: its place was given back already, not a second time.
    const judged = counting();
    const j = setup({ throwOnAttemptEvent: true, overload: judged });
    j.run.start();
    j.receivers[0]?.attemptEnded(attemptOf(ok, 1));
    expect(j.ends).toEqual(["failed subscriber bug"]);
    expect(judged.inFlight).toBe(0);
  });

  it("an attempt that ended during its own start is judged once, not again at the next send", async () => {
    const t = setup({ endDuringStart: [unavailable] });
    t.run.start();
    t.sleeps[0]?.();
    await Promise.resolve();
    expect(t.events.slice(3)).toEqual(["start #2 1000ms", "retry r-1 #2 100ms 503 to endpoint-2"]);
    expect(t.sleeps).toHaveLength(1);
    t.receivers[0]?.attemptEnded(attemptOf(ok, 2));
    expect(t.ends).toEqual(["ended not_retryable after 2"]);
  });

  it("a retry that goes is taken from the throttle, once", () => {
    let taken = 0;
    const t = setup({ throttle: { ...NO_THROTTLE, take: () => taken++ } });
    t.run.start();
    t.receivers[0]?.attemptEnded(attemptOf(unavailable, 1));
    expect(taken).toBe(1);
  });

  it("an attempt told twice ends the run once", () => {
    const t = setup();
    t.run.start();
    t.receivers[0]?.attemptEnded(attemptOf(ok, 1));
    t.receivers[0]?.attemptEnded(attemptOf(unavailable, 1));
    expect(t.ends).toEqual(["ended not_retryable after 1"]);
  });

  it("at a per-try timeout: waits up to the deadline while overload protection waits for its queue, else cuts", () => {
    const queueing = { ...NO_OVERLOAD, waitsPastTimeout: () => true };
    const t = setup({ overload: queueing });
    t.run.start();
    t.clock.now += 1000; // the per-try timeout
    const receiver = t.receivers[0] as AttemptReceiver<number>;
    expect(receiver.waitLonger()).toBe(4000); // the rest of the 5-s deadline
    t.clock.now += 1500;
    receiver.attemptEnded(attemptOf(ok, 1));
    expect(t.ends).toEqual(["ended not_retryable after 1"]);
    expect(receiver.waitLonger()).toBe(0); // over

    const plain = setup();
    plain.run.start();
    plain.clock.now += 1000;
    expect((plain.receivers[0] as AttemptReceiver<number>).waitLonger()).toBe(0);

    const late = setup({ overload: queueing });
    late.run.start();
    late.clock.now += 5000; // nothing left of the deadline
    expect((late.receivers[0] as AttemptReceiver<number>).waitLonger()).toBe(0);
  });

  it("tells overload protection when an attempt waited for past its per-try timeout got no answer", async () => {
    const told: boolean[] = [];
    const gate = (wait: boolean): OverloadGate => ({
      ...NO_OVERLOAD,
      waitsPastTimeout: () => wait,
      finished: (_sentAt, _now, waitedInVain) => told.push(waitedInVain === true),
    });
    const timedOut: AttemptOutcome = { kind: "failure", failure: "timeout", retryable: true };
    for (const [wait, outcome] of [
      [true, timedOut], // waited for, then the deadline: in vain
      [true, ok], // waited for, and answered
      [false, timedOut], // cut at its per-try timeout as always
    ] as const) {
      const t = setup({ overload: gate(wait) });
      t.run.start();
      t.clock.now += 1000;
      (t.receivers[0] as AttemptReceiver<number>).waitLonger();
      t.clock.now += 4000;
      t.receivers[0]?.attemptEnded(attemptOf(outcome, 1));
    }
    expect(told).toEqual([true, false, false]);

    // Waited for past its timeout and then answered 503: its retry, cut at its own timeout
    // without a wait, was not waited for in vain.
    told.length = 0;
    const t = setup({ overload: gate(true) });
    t.run.start();
    t.clock.now += 1000;
    (t.receivers[0] as AttemptReceiver<number>).waitLonger();
    t.clock.now += 500;
    t.receivers[0]?.attemptEnded(attemptOf(unavailable, 1));
    t.sleeps[0]?.();
    await Promise.resolve();
    t.clock.now += 1000;
    t.receivers[1]?.attemptEnded(attemptOf(timedOut, 2));
    expect(told).toEqual([false, false]);
  });

  it("a circuit opened by other requests during the wait stops the retry; a failure is answered as it was", async () => {
    const refused: AttemptOutcome = { kind: "failure", failure: "connect_error", retryable: true };
    for (const [attempt, kept] of [
      // A transport failure (no response): the client gets it (502), the contract's last outcome.
      [{ outcome: refused, response: undefined, discard() {} }, refused],
      // A response was dropped before the wait: nothing is left to answer with.
      [attemptOf(unavailable, 1), undefined],
    ] as const) {
      const t = setup({ circuitThreshold: 3 });
      t.run.start();
      t.receivers[0]?.attemptEnded(attempt as Attempt<number>);
      for (let i = 0; i < 3; i++) t.request.breaker.record(true); // other requests fail meanwhile
      t.sleeps[0]?.();
      await Promise.resolve();
      expect(t.receivers).toHaveLength(1); // no retry went
      expect(t.events.at(-1)).toBe("skipped circuit_open");
      expect(t.result()).toMatchObject({ stop: "circuit_open", attempts: 1, retries: 0 });
      expect(t.result()?.last?.outcome).toBe(kept);
    }
  });
});

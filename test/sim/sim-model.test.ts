import { describe, expect, it } from "vitest";
import { directPod, type PodEnv, sendAttempt, sidecarPod } from "../../sim/lib/pod.js";
import { markdownTables } from "../../sim/lib/report.js";
import { DEFAULT_SETTINGS, type Scenario } from "../../sim/lib/scenarios.js";
import { type RunResult, simulate } from "../../sim/lib/simulate.js";
import {
  type AttemptTarget,
  flakyUpstream,
  queueAtTheDoor,
  queueUpstream,
  sheddingUpstream,
  sickInstances,
  type Upstream,
} from "../../sim/lib/upstreams.js";
import { type Variant, variants } from "../../sim/lib/variants.js";
import { VirtualTime } from "../../sim/lib/virtual-time.js";
import type { AttemptOutcome, SkipReason } from "../../src/retry/outcome.js";

// The pieces the fleet simulator's figures stand on, one by one: virtual time, the upstream models,
// a pod's attempt, the run's arithmetic and its table. The scenario tests (fleet-sim, overload-sim)
// check whole runs against thresholds, which a wrong piece can still pass.

/** What the upstream answered to each attempt, and when (virtual ms). */
type Answers = { at: number; label: string }[];

function label(outcome: AttemptOutcome): string {
  if (outcome.kind === "failure") return outcome.failure;
  return outcome.retryAfter === undefined
    ? String(outcome.status)
    : `${outcome.status} after ${outcome.retryAfter}`;
}

function sender(time: VirtualTime, upstream: Upstream, answers: Answers) {
  return (target: Partial<AttemptTarget> = {}) =>
    upstream.send({ pod: 0, address: "10.0.0.1", fresh: false, ...target }, (outcome) =>
      answers.push({ at: time.clock(), label: label(outcome) }),
    );
}

describe("virtual time", () => {
  it("fires timers in time order, ties in the order they were set, and never a cancelled one", async () => {
    const time = new VirtualTime();
    const fired: string[] = [];
    // Enough timers, in a scrambled order, to take every path of the heap.
    const delays = Array.from({ length: 40 }, (_, i) => (i * 37) % 11);
    const cancels = delays.map((delay, i) => time.after(delay, () => fired.push(`${delay}:${i}`)));
    cancels[5]?.();
    cancels[17]?.();
    await time.run(100);
    const expected = delays
      .map((delay, i) => ({ delay, i }))
      .filter(({ i }) => i !== 5 && i !== 17)
      .sort((a, b) => a.delay - b.delay || a.i - b.i)
      .map(({ delay, i }) => `${delay}:${i}`);
    expect(fired).toEqual(expected);
  });

  it("runs until the time asked, a timer due then included, and leaves the clock there", async () => {
    const time = new VirtualTime();
    const fired: number[] = [];
    time.after(100, () => fired.push(time.clock()));
    time.after(101, () => fired.push(time.clock()));
    await time.run(100);
    expect(fired).toEqual([100]);
    expect(time.clock()).toBe(100);
    await time.run(150);
    expect(fired).toEqual([100, 101]);
    expect(time.clock()).toBe(150);
  });

  it("a negative delay fires now, never in the past", async () => {
    const time = new VirtualTime();
    const fired: number[] = [];
    time.after(10, () => time.after(-5, () => fired.push(time.clock())));
    await time.run(50);
    expect(fired).toEqual([10]);
  });

  it("lets what a timer set off finish before the next timer fires", async () => {
    const time = new VirtualTime();
    const order: string[] = [];
    time.after(10, () => {
      void Promise.resolve()
        .then(() => undefined)
        .then(() => order.push("the first timer's promise chain"));
    });
    time.after(10, () => order.push("the second timer"));
    await time.run(10);
    expect(order).toEqual(["the first timer's promise chain", "the second timer"]);
  });

  it("sleep ends after its time, at once when its signal aborts, and at once when it already has", async () => {
    const time = new VirtualTime();
    const ended: Record<string, number> = {};
    const controller = new AbortController();
    void time.sleep(50, new AbortController().signal).then(() => (ended.whole = time.clock()));
    void time.sleep(50, controller.signal).then(() => (ended.aborted = time.clock()));
    time.after(20, () => controller.abort());
    void time.sleep(50, AbortSignal.abort()).then(() => (ended.alreadyAborted = time.clock()));
    await time.run(100);
    expect(ended).toEqual({ whole: 50, aborted: 20, alreadyAborted: 0 });
  });
});

describe("upstream models", () => {
  it("a queue: its workers take attempts first in, first out, each for the service time of when it starts", async () => {
    const time = new VirtualTime();
    // Two workers; 100 ms per attempt, 500 ms for one started from t = 150 ms on.
    const upstream = queueUpstream(time, time.clock, 2, (t) => (t < 150 ? 100 : 500));
    const answers: Answers = [];
    const send = sender(time, upstream, answers);
    expect(upstream.queueWaitMs()).toBe(0); // a worker is free
    for (let i = 0; i < 5; i++) send();
    expect(upstream.queued()).toBe(3);
    // The three queued, two at a time, then a worker: (3 + 1) / 2 x 100 ms.
    expect(upstream.queueWaitMs()).toBe(200);
    await time.run(10_000);
    expect(answers).toEqual([
      { at: 100, label: "200" },
      { at: 100, label: "200" },
      { at: 200, label: "200" },
      { at: 200, label: "200" },
      { at: 700, label: "200" }, // started at 200 ms: 500 ms
    ]);
    expect(upstream.queued()).toBe(0);
  });

  it("random failures: 503 when the draw is under the failure rate, 200 otherwise, refused while down", async () => {
    const time = new VirtualTime();
    const draws = [0.29, 0.3, 0.31];
    const upstream = flakyUpstream(
      time,
      time.clock,
      () => draws.shift() ?? 0,
      () => 0.3,
      (t) => t >= 100 && t < 200,
    );
    const answers: Answers = [];
    const send = sender(time, upstream, answers);
    for (let i = 0; i < 3; i++) send();
    time.after(150, () => send());
    await time.run(1000);
    expect(answers).toEqual([
      { at: 10, label: "503" },
      { at: 10, label: "200" },
      { at: 10, label: "200" },
      { at: 151, label: "connect_error" },
    ]);
  });

  it("a headless Service: one address per instance; the sick one answers 503, or nothing when hung", async () => {
    for (const hung of [false, true]) {
      const time = new VirtualTime();
      const upstream = sickInstances(time, "headless", 1, hung);
      expect(upstream.addresses).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
      const answers: Answers = [];
      const send = sender(time, upstream, answers);
      for (const address of upstream.addresses) send({ address });
      await time.run(60_000);
      expect(answers.map((a) => a.label)).toEqual(hung ? ["200", "200"] : ["200", "503", "200"]);
    }
  });

  it("a ClusterIP Service: a kept-alive connection sticks to its instance until renewed or idle for 59 s", async () => {
    const time = new VirtualTime();
    // Instance 0 is sick; new connections go to instances 0, 1, 2, 0, ... in turn.
    const upstream = sickInstances(time, "clusterip", 0);
    expect(upstream.addresses).toEqual(["10.0.0.1"]);
    const answers: Answers = [];
    const send = sender(time, upstream, answers);
    const at = (ms: number, target: Partial<AttemptTarget> = {}) => time.after(ms, () => send(target));
    at(0); // pod 0's connection: instance 0
    at(0); // that one busy: a second connection, instance 1
    at(100); // the first idle connection again: instance 0
    at(200, { fresh: true }); // a connection of its own: instance 2
    at(300); // kept-alive: instance 0
    at(400, { pod: 1 }); // pod 1's own connection: instance 0
    time.after(500, () => upstream.renew?.(0, "10.0.0.1"));
    at(600); // pod 0 after renewing: a new connection, instance 1
    at(700, { fresh: true }); // instance 2
    at(30_000); // kept-alive: instance 1
    at(88_000); // idle 58 s since its last answer: still instance 1
    at(147_100); // idle 59.1 s: closed, a new connection, instance 0
    await time.run(200_000);
    expect(answers.map((a) => `${a.at - 10} ${a.label}`)).toEqual([
      "0 503",
      "0 200",
      "100 503",
      "200 200",
      "300 503",
      "400 503",
      "600 200",
      "700 200",
      "30000 200",
      "88000 200",
      "147100 503",
    ]);
  });

  it("billing shedding: 503 with Retry-After at once for an attempt that would wait too long, the rest queued", async () => {
    const time = new VirtualTime();
    const queue = queueUpstream(time, time.clock, 1, () => 100);
    const upstream = sheddingUpstream(queue, time, 150, 1);
    expect(sheddingUpstream(queue, time, 150, 1)).toBe(upstream); // one per billing, whatever the pods
    const answers: Answers = [];
    const send = sender(time, upstream, answers);
    for (let i = 0; i < 3; i++) send(); // waits 0, 100 and 200 ms
    await time.run(1000);
    expect(answers).toEqual([
      { at: 1, label: "503 after 1" },
      { at: 100, label: "200" },
      { at: 200, label: "200" },
    ]);
  });

  it("a door in front of billing: maxConn at a time, the others wait their turn in order, 503 with Retry-After after waiting too long", async () => {
    const time = new VirtualTime();
    const queue = queueUpstream(time, time.clock, 2, () => 100);
    const upstream = queueAtTheDoor(queue, time, 1, 150, 1);
    expect(queueAtTheDoor(queue, time, 1, 150, 1)).toBe(upstream); // one per billing, whatever the pods
    const answers: Answers = [];
    const send = sender(time, upstream, answers);
    // At t = 0: the first goes through, the second waits (its turn at 100), the third waits for
    // the second and times out at the door at 150; billing's second worker stays idle throughout.
    for (let i = 0; i < 3; i++) send();
    await time.run(120);
    expect(queue.queued()).toBe(0);
    // At 120 the fourth waits behind the second (out since 100): its turn comes at 200.
    send();
    await time.run(1000);
    expect(answers).toEqual([
      { at: 100, label: "200" },
      { at: 150, label: "503 after 1" },
      { at: 200, label: "200" },
      { at: 300, label: "200" },
    ]);
  });
});

/** A pod's environment for one test: the settings of overload-drop's callers, nothing counted. */
function podEnv(time: VirtualTime, upstream: Upstream, pod = 0): PodEnv & { sent: number } {
  const env = {
    pod,
    time,
    random: () => 0.5,
    upstream,
    settings: { ...DEFAULT_SETTINGS, perTryTimeoutMs: 1000, requestTimeoutMs: 4500 },
    appTimeoutMs: 5000,
    sent: 0,
    attemptSent: () => {
      env.sent += 1;
    },
    skipped: () => {},
  };
  return env;
}

const silent: Upstream = { addresses: ["10.0.0.1"], send: () => {} };

/** An upstream that answers every attempt with `status`, `afterMs` after it was sent. */
const answering = (time: VirtualTime, status: number, afterMs: number): Upstream => ({
  addresses: ["10.0.0.1"],
  send: (_target, answer) =>
    time.after(afterMs, () => answer({ kind: "response", status, retryAfter: undefined })),
});

describe("a pod's attempts", () => {
  it("an attempt ends at its per-try timeout, or when its client leaves, whichever comes first", async () => {
    const time = new VirtualTime();
    const env = podEnv(time, silent);
    const ended: Record<string, string> = {};
    const target = { pod: 0, address: "10.0.0.1", fresh: false };
    const record = (name: string) => (outcome: AttemptOutcome) => {
      ended[name] = `${time.clock()} ${label(outcome)}`;
    };
    void sendAttempt(env, target, 1000, new AbortController().signal).then(record("per-try timeout"));
    const leaving = new AbortController();
    time.after(300, () => leaving.abort());
    void sendAttempt(env, target, 1000, leaving.signal).then(record("client left"));
    await time.run(10_000);
    expect(ended).toEqual({ "per-try timeout": "1000 timeout", "client left": "300 timeout" });
  });

  it("at its per-try timeout an attempt waits as long as the retry loop says, and its answer then counts", async () => {
    const time = new VirtualTime();
    const upstream = answering(time, 200, 1200);
    const asked: number[] = [];
    const waits = [500, 0];
    const timedOut = {
      waitLonger: () => {
        asked.push(time.clock());
        return waits.shift() ?? 0;
      },
    };
    let ended = "";
    void sendAttempt(
      podEnv(time, upstream),
      { pod: 0, address: "10.0.0.1", fresh: false },
      1000,
      new AbortController().signal,
      timedOut,
    ).then((outcome) => (ended = `${time.clock()} ${label(outcome)}`));
    await time.run(10_000);
    expect(ended).toBe("1200 200");
    expect(asked).toEqual([1000]); // answered before the longer wait ran out: not asked again
  });

  it("a retry to the endpoint already tried goes on a new connection, so the balancer can pick another instance", async () => {
    const time = new VirtualTime();
    // One address; instance 0 (sick) gets the pod's kept-alive connection, each retry a new one:
    // instances 1, 2, 0, 1 in turn.
    const env = podEnv(time, sickInstances(time, "clusterip", 0));
    const pod = sidecarPod(env);
    const ended: string[] = [];
    for (let i = 0; i < 3; i++) {
      time.after(i * 5000, () => {
        const before = env.sent;
        void pod
          .call(new AbortController().signal)
          .then((r) => ended.push(`${r.status} after ${env.sent - before}`));
      });
    }
    await time.run(20_000);
    expect(ended).toEqual(["200 after 2", "200 after 2", "200 after 3"]);
  });

  it("the app gets the sidecar's own answer after its retries: 504 after timeouts, 502 after refused connections", async () => {
    const time = new VirtualTime();
    const refusing = flakyUpstream(
      time,
      time.clock,
      () => 0.5,
      () => 0,
      () => true,
    );
    const ended: string[] = [];
    for (const upstream of [silent, refusing]) {
      const env = podEnv(time, upstream);
      void sidecarPod(env)
        .call(new AbortController().signal)
        .then((r) => ended.push(`${r.status} after ${env.sent}`));
    }
    await time.run(20_000);
    // Refused: all four attempts within the 4.5-s deadline (backoff 0.5 + 1 + 2 s). Timed out:
    // attempts at 0, 1.5 and 3.5 s, each cut at 1 s; a fourth would not fit.
    expect(ended).toEqual(["502 after 4", "504 after 3"]);
  });

  it("a gate is asked before every attempt, told how each ended, and a retry it sheds ends the request", async () => {
    const time = new VirtualTime();
    const unavailable = answering(time, 503, 10);
    const asked: boolean[] = [];
    const told: string[] = [];
    const gate = {
      admit: (first: boolean) => {
        asked.push(first);
        return first;
      },
      done: (outcome: AttemptOutcome, latencyMs: number) => told.push(`${label(outcome)} in ${latencyMs} ms`),
    };
    let status = 0;
    void sidecarPod(podEnv(time, unavailable), { gate })
      .call(new AbortController().signal)
      .then((r) => (status = r.status));
    await time.run(20_000);
    expect(asked).toEqual([true, false]);
    expect(told).toEqual(["503 in 10 ms"]);
    expect(status).toBe(502); // shed locally, as a connection that could not be made
  });

  it("the app without a sidecar keeps its one kept-alive connection, and so its instance", async () => {
    const time = new VirtualTime();
    const env = podEnv(time, sickInstances(time, "clusterip", 0));
    const app = directPod(env, 0, 1000);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      time.after(
        i * 100,
        () => void app.call(new AbortController().signal).then((r) => statuses.push(r.status)),
      );
    }
    await time.run(10_000);
    expect(statuses).toEqual([503, 503, 503]);
  });

  it("the app's naive loop retries every 5xx, 500 included, at once", async () => {
    const time = new VirtualTime();
    const failing = answering(time, 500, 10);
    const env = podEnv(time, failing);
    let ended = "";
    void directPod(env, 3, 1000)
      .call(new AbortController().signal)
      .then((r) => (ended = `${r.status} at ${time.clock()} after ${env.sent}`));
    await time.run(10_000);
    expect(ended).toBe("500 at 40 after 4");
  });
});

/** A scenario whose outcomes the variant decides; the upstream is never called. */
function plainScenario(overrides: Partial<Scenario> = {}): Scenario {
  return {
    name: "plain",
    totalRate: 40,
    durationS: 20,
    appTimeoutMs: 1000,
    warmupPerPod: 0,
    upstream: () => silent,
    ...overrides,
  };
}

/** A variant whose every request is answered by `answer(scenario time in ms)` ({ status, afterMs }). */
function decidingVariant(
  answer: (t: number, env: PodEnv) => { status: number; afterMs?: number },
  built: number[] = [],
): Variant {
  return {
    name: "deciding",
    about: "the test decides each answer",
    pod(env) {
      built.push(env.pod);
      return {
        call: () => {
          const { status, afterMs = 0 } = answer(env.time.clock(), env);
          return new Promise((resolve) => env.time.after(afterMs, () => resolve({ status })));
        },
      };
    },
  };
}

describe("a run's figures", () => {
  it("builds one caller per pod, each with its own index", async () => {
    const built: number[] = [];
    await simulate(
      plainScenario({ durationS: 2 }),
      decidingVariant(() => ({ status: 200 }), built),
      3,
      1,
    );
    expect(built).toEqual([0, 1, 2]);
  });

  it("success, the trigger's share and recovery count each request by when it arrived and how it ended", async () => {
    // Trigger 5-10 s: every other request fails. Then failures until 12 s, answers too late for the
    // app until 13 s, all well after that: recovered 3 s after the trigger.
    let n = 0;
    const variant = decidingVariant((t) => {
      if (t >= 5000 && t < 10_000) return { status: n++ % 2 === 0 ? 200 : 503 };
      if (t >= 10_000 && t < 12_000) return { status: 503 };
      if (t >= 12_000 && t < 13_000) return { status: 200, afterMs: 1500 };
      return { status: 200 };
    });
    const r = await simulate(plainScenario({ trigger: [5, 10] }), variant, 4, 1);
    expect(r.recoveryS).toBe(3);
    expect(r.duringTrigger).toBeGreaterThan(0.4);
    expect(r.duringTrigger).toBeLessThan(0.6);
    // 20 s at 40 a second: 12 of them all well, 5 half well, 3 not at all.
    expect(r.requests).toBeGreaterThan(700);
    expect(r.success).toBeCloseTo((12 + 2.5) / 20, 1);
    expect(r.goodput.reduce((a, b) => a + b, 0)).toBe(Math.round(r.success * r.requests));
  });

  it("a trigger never recovered from is 'never'; without a trigger there is no recovery to tell", async () => {
    const failing = decidingVariant((t) => ({ status: t >= 5000 ? 503 : 200 }));
    const never = await simulate(plainScenario({ trigger: [5, 10] }), failing, 2, 1);
    expect(never.recoveryS).toBe(Number.POSITIVE_INFINITY);
    const none = await simulate(plainScenario(), failing, 2, 1);
    expect(none.recoveryS).toBeUndefined();
    expect(none.duringTrigger).toBeUndefined();
  });

  it("counts attempts over the window, and skipped retries from t = 0 on, not in the warm-up", async () => {
    const variant = decidingVariant((_t, env) => {
      env.attemptSent();
      env.attemptSent();
      env.skipped("budget" as SkipReason);
      return { status: 200 };
    });
    const r = await simulate(plainScenario({ warmupPerPod: 5, window: [5, 15] }), variant, 2, 1);
    expect(r.attemptsPerRequest).toBe(2);
    expect(r.skipped).toEqual({ budget: r.requests });
  });
});

describe("the report", () => {
  const run = (over: Partial<RunResult>): RunResult => ({
    scenario: "s",
    variant: "v",
    pods: 10,
    requests: 100,
    attemptsPerRequest: 1.234,
    success: 0.9876,
    goodput: [],
    recoveryS: undefined,
    duringTrigger: undefined,
    skipped: {},
    ...over,
  });

  it("one table per scenario, a row per variant, a cell per pod count; recovery in seconds or 'never'", () => {
    const text = markdownTables(
      [
        run({ scenario: "drop", variant: "a", pods: 10, recoveryS: 2, duringTrigger: 0.25 }),
        run({
          scenario: "drop",
          variant: "a",
          pods: 100,
          recoveryS: Number.POSITIVE_INFINITY,
          duringTrigger: 0.5,
        }),
        run({ scenario: "drop", variant: "b", pods: 10, recoveryS: 0, duringTrigger: 1 }),
        run({ scenario: "steady", variant: "a", pods: 100 }),
      ],
      [10, 100],
    );
    expect(text.split("\n")).toEqual([
      "### drop",
      "",
      "| variant | 10 pods: att/req · success · in trigger · recovery | 100 pods: att/req · success · in trigger · recovery |",
      "|---|---:|---:|",
      "| a | 1.23 · 98.8% · 25.0% · 2 s | 1.23 · 98.8% · 50.0% · never |",
      "| b | 1.23 · 98.8% · 100.0% · 0 s |  |",
      "",
      "### steady",
      "",
      "| variant | 10 pods: att/req · success | 100 pods: att/req · success |",
      "|---|---:|---:|",
      "| a |  | 1.23 · 98.8% |",
      "",
    ]);
  });
});

describe("the variants", () => {
  it("a plain run compares the app alone, its naive loop, the sidecar before and with its throttles; the rest run when named", () => {
    const plain = variants.filter((v) => v.extra !== true).map((v) => v.name);
    expect(plain).toEqual([
      "no-retries",
      "naive-3x",
      "sidecar-before",
      "grpc-throttle",
      "sre-adaptive",
      "sidecar",
    ]);
    expect(
      variants
        .filter((v) => v.extra === true)
        .map((v) => v.name)
        .sort(),
    ).toEqual(
      [
        "billing-sheds",
        "billing-sheds-breaker-30",
        "haproxy-sheds-breaker-30",
        "overload-floor-1",
        "overload-gentle",
        "overload-in-time-ratio",
        "overload-only",
        "overload-probability",
        "overload-slow-regrowth",
        "sidecar-no-blind-retries",
        "sidecar-no-overload",
      ].sort(),
    );
  });
});

import { describe, expect, it } from "vitest";
import { type OverloadOptions, OverloadProtection } from "../../src/overload/overload-protection.js";

// The policy on a fake clock: attempts are admitted, held in flight and finished at chosen times,
// the way the proxy and the retry loop drive it.

const options: OverloadOptions = {
  enabled: true,
  lateMs: 800, // 0.8 x a per-try timeout of 1 s
  decrease: 0.1, // OVERLOAD_DECREASE is 0.05 by default; a tenth keeps the arithmetic below readable
  recoveryMs: 1500,
  minLimit: 0.02,
  maxLimit: 1000,
  retryShare: 0.5,
};

function setup(change: Partial<OverloadOptions> = {}) {
  const clock = { now: 1_000_000 };
  const policy = new OverloadProtection({ ...options, ...change }, () => clock.now);
  /** Admits `n` first attempts now; returns how many went. */
  const admit = (n: number) => {
    let admitted = 0;
    for (let i = 0; i < n; i++) if (policy.admitFirst()) admitted++;
    return admitted;
  };
  /** `n` attempts sent now, each answered after `latencyMs` (time moves on by that much). */
  const round = (n: number, latencyMs: number) => {
    const sentAt = clock.now;
    const admitted = admit(n);
    clock.now += latencyMs;
    for (let i = 0; i < admitted; i++) policy.finished(sentAt, clock.now);
    return admitted;
  };
  return { clock, policy, admit, round };
}

describe("overload protection", () => {
  it("admits everything while answers come in time, however many are in flight", () => {
    const t = setup();
    expect(t.admit(500)).toBe(500);
    expect(t.policy.retryAllowed()).toBe(true);
    expect(t.policy.currentLimit()).toBe(Number.POSITIVE_INFINITY);
  });

  it("a late answer cuts the limit to a tenth of what was in flight; then it limits", () => {
    const t = setup();
    t.round(40, 900);
    expect(t.policy.currentLimit()).toBeCloseTo(4, 1);
    expect(t.admit(10)).toBe(4);
    expect(t.policy.inFlight).toBe(4);
  });

  it("a timeout is late too (no answer within lateMs)", () => {
    const t = setup();
    t.round(20, 1000);
    expect(t.policy.currentLimit()).toBeLessThan(3);
  });

  it("an answer exactly lateMs after its send is late", () => {
    const t = setup();
    t.round(1, 800); // alone: judged by its answer, which comes on the mark
    expect(t.policy.currentLimit()).toBeCloseTo(1, 5);
  });

  it("a quarter of recent answers late is enough to cut", () => {
    const t = setup();
    const sentAt = t.clock.now;
    expect(t.admit(4)).toBe(4);
    t.clock.now += 100;
    for (let i = 0; i < 3; i++) t.policy.finished(sentAt, t.clock.now); // three in time
    t.clock.now += 800;
    t.policy.finished(sentAt, t.clock.now); // the fourth late: one answer in four
    expect(t.policy.currentLimit()).toBeLessThan(Number.POSITIVE_INFINITY);
  });

  it("one late answer among many in time is no queue: no cut (a request that hangs, a lost packet)", () => {
    const t = setup();
    for (let i = 0; i < 30; i++) {
      t.round(20, 50); // 20 in flight, answered in 50 ms
      if (i % 5 === 0) {
        const sentAt = t.clock.now;
        t.admit(1);
        t.clock.now += 1000; // one of them hangs until its timeout
        t.policy.finished(sentAt, t.clock.now);
      }
    }
    expect(t.policy.currentLimit()).toBe(Number.POSITIVE_INFINITY);
    expect(t.admit(100)).toBe(100);
  });

  it("cuts once per round trip: the late answers of attempts sent before the cut are old news", () => {
    const t = setup();
    const sentAt = t.clock.now;
    t.admit(40);
    t.clock.now += 900;
    t.policy.finished(sentAt, t.clock.now);
    const afterFirst = t.policy.currentLimit();
    for (let i = 0; i < 39; i++) t.policy.finished(sentAt, t.clock.now);
    expect(t.policy.currentLimit()).toBe(afterFirst);
  });

  it("falls below one attempt (one at a time, no retries) only on evidence from other requests", () => {
    const lone = setup();
    // One request, its first attempt and its three retries one after the other, every one late
    // (a hung upstream): the request keeps its retries.
    lone.round(1, 1000);
    for (let retry = 0; retry < 3; retry++) {
      expect(lone.policy.retryAllowed()).toBe(true);
      const sentAt = lone.clock.now;
      expect(lone.policy.admitRetry()).toBe(true);
      lone.clock.now += 1000;
      lone.policy.finished(sentAt, lone.clock.now);
    }
    expect(lone.policy.currentLimit()).toBeGreaterThanOrEqual(1);
    // More requests one after the other, every one late, no answer in time between: still no
    // queue of this caller's making. Each is sent, so their timeouts reach the circuit breaker.
    for (let request = 0; request < 12; request++) {
      lone.clock.now += 10;
      lone.round(1, 1000);
      expect(lone.policy.currentLimit()).toBeGreaterThanOrEqual(1);
    }

    const busy = setup();
    // Five out at once, all late: cut to a tenth of five (the other four are old news).
    busy.round(5, 1000);
    expect(busy.policy.currentLimit()).toBeCloseTo(0.5, 5);
    expect(busy.admit(2)).toBe(1); // below one: one attempt at a time

    const bound = setup();
    bound.round(10, 1000); // limit 1
    const sentAt = bound.clock.now;
    expect(bound.admit(5)).toBe(1); // four turned away: the limit binds
    bound.clock.now += 1000;
    bound.policy.finished(sentAt, bound.clock.now); // the one admitted is late too, alone
    expect(bound.policy.currentLimit()).toBeCloseTo(0.1, 2);
  });

  it("requests turned away in an earlier episode do not let a lone caller's later timeout go below one", () => {
    const t = setup();
    t.round(10, 1000); // limit about 1
    expect(t.admit(5)).toBe(1); // four turned away
    t.clock.now += 60_000; // long after: the limit is lifted again
    expect(t.policy.currentLimit()).toBe(Number.POSITIVE_INFINITY);
    t.policy.release();
    t.round(1, 1000); // a lone caller times out
    expect(t.policy.currentLimit()).toBeGreaterThanOrEqual(1);
  });

  it("a request turned away since the last cut is evidence, even after others were admitted", () => {
    const t = setup();
    t.round(10, 1000); // limit 1
    const first = t.clock.now;
    expect(t.admit(2)).toBe(1); // one turned away: the limit binds
    t.clock.now += 100;
    t.policy.finished(first, t.clock.now); // in time: the limit grows to 2
    const sentAt = t.clock.now;
    expect(t.admit(1)).toBe(1); // alone in flight
    t.clock.now += 1000;
    t.policy.finished(sentAt, t.clock.now); // late: with the refusal, below one
    expect(t.policy.currentLimit()).toBeCloseTo(0.1, 2);
  });

  it("an answer in time to an attempt sent before the cut says nothing of the new limit", () => {
    const t = setup();
    const early = t.clock.now;
    t.admit(10);
    t.clock.now += 500;
    const before = t.clock.now;
    t.admit(1); // sent before the cut that comes next
    t.clock.now += 400;
    for (let i = 0; i < 10; i++) t.policy.finished(early, t.clock.now); // late: cut to 1.1
    const cut = t.policy.currentLimit();
    expect(cut).toBeCloseTo(1.1, 5);
    t.policy.finished(before, t.clock.now); // answered in 400 ms, in time
    expect(t.policy.currentLimit()).toBeCloseTo(cut, 5);
  });

  it("a retry admitted after its wait sees the attempts in flight gone late meanwhile", () => {
    const t = setup();
    t.round(20, 50); // in time: no limit
    t.admit(10);
    expect(t.policy.retryAllowed()).toBe(true); // asked before the wait
    t.clock.now += 900; // the wait: the ten in flight are late now, no answer yet
    expect(t.policy.admitRetry()).toBe(false);
    expect(t.policy.currentLimit()).toBeCloseTo(1, 1);
  });

  it("a cut uses up the requests turned away before it; old news does not", () => {
    const spent = setup();
    spent.round(10, 1000); // limit 1
    const sentAt = spent.clock.now;
    expect(spent.admit(2)).toBe(1); // one turned away
    spent.clock.now += 1000;
    spent.policy.finished(sentAt, spent.clock.now); // late: below one, and the refusal is used up
    spent.clock.now += 1500 * 4; // regrown by the clock to 1.6
    spent.round(1, 1000); // a lone late attempt, nothing turned away since the cut
    expect(spent.policy.currentLimit()).toBeGreaterThanOrEqual(1);

    const kept = setup();
    const first = kept.clock.now;
    kept.admit(10);
    kept.clock.now += 300;
    const beforeCut = kept.clock.now;
    kept.admit(1);
    kept.clock.now += 600;
    kept.policy.finished(first, kept.clock.now); // late: cut to 1.1
    expect(kept.admit(1)).toBe(0); // turned away
    kept.clock.now += 200; // the one sent before the cut is late now: old news
    for (let i = 0; i < 9; i++) kept.policy.finished(first, kept.clock.now);
    kept.policy.finished(beforeCut, kept.clock.now);
    kept.round(1, 1000); // a lone late attempt: the refusal still counts
    expect(kept.policy.currentLimit()).toBeLessThan(1);
  });

  it("an attempt still in flight past lateMs is late at once: the limit is cut before any answer", () => {
    const t = setup();
    t.round(20, 50); // answered in time: nothing limited
    t.admit(10);
    t.clock.now += 700;
    expect(t.admit(1)).toBe(1); // not late yet (lateMs 800)
    t.clock.now += 100;
    // The ten (and the one) have waited 800 ms without an answer: a queue, known now.
    expect(t.admit(1)).toBe(0);
    expect(t.policy.currentLimit()).toBeCloseTo(1.1, 1);
    // Their timeouts, when they come, are not news a second time: no further cut.
    const limit = t.policy.currentLimit();
    for (let i = 0; i < 11; i++) t.policy.finished(t.clock.now - 1000, t.clock.now);
    expect(t.policy.currentLimit()).toBeGreaterThanOrEqual(limit * 0.99);
  });

  it("below one, a late answer of an attempt sent before the cut restarts the regrowth, no more", () => {
    const t = setup();
    const first = t.clock.now;
    t.admit(1);
    t.clock.now += 500;
    t.admit(1); // sent before the cut below
    t.clock.now += 500;
    t.policy.finished(first, t.clock.now); // late, two out: cut to a tenth of two
    expect(t.policy.currentLimit()).toBeCloseTo(0.2, 3);
    // The second is late too, still in flight: old news. The limit neither regrows for those
    // 300 ms nor falls: below one, each such answer used to lower it (x 0.3), which held the pods
    // back just as a queue drained and the attempts waited for came in at once.
    t.clock.now += 300;
    expect(t.admit(1)).toBe(0); // turned away: the one in flight is no longer alone in the evidence
    expect(t.admit(1)).toBe(0);
    expect(t.policy.currentLimit()).toBeCloseTo(0.2, 3);
  });

  it("a lone attempt late in flight turns nothing away: alone, it may be one hung instance", () => {
    const t = setup();
    t.round(20, 50); // answered in time: nothing limited
    t.clock.now += 5000; // a quiet while: those answers are no longer among the recent ones
    t.admit(1);
    t.clock.now += 900; // late (lateMs 800), still in flight, alone
    // Cut for it, the limit would be one attempt, held by that attempt: this request, which may go
    // to another instance and come back in time, would be turned away.
    expect(t.admit(1)).toBe(1);
    expect(t.policy.currentLimit()).toBe(Number.POSITIVE_INFINITY);
  });

  it("a late attempt overtaken by a later one answered in time is no queue: no cut, no fall", () => {
    const t = setup();
    const hung = t.clock.now;
    t.admit(1);
    t.clock.now += 100;
    t.round(1, 50); // sent after it, answered in time: a queue answers in order
    t.clock.now = hung + 1000;
    t.policy.finished(hung, t.clock.now); // its per-try timeout: late, but overtaken
    expect(t.policy.currentLimit()).toBe(Number.POSITIVE_INFINITY);

    const limited = setup();
    limited.round(20, 1000); // a queue: limit 2
    const waited = limited.clock.now;
    limited.admit(1);
    limited.clock.now += 10;
    limited.round(1, 50); // overtakes it
    const limit = limited.policy.currentLimit();
    limited.clock.now = waited + 4500;
    // Waited for until the deadline in vain: a hung instance, not a queue a deadline long.
    limited.policy.finished(waited, limited.clock.now, true);
    expect(limited.policy.currentLimit()).toBeGreaterThanOrEqual(limit);
  });

  it("below one attempt, admits one attempt at a time, with no retry, waited for past its timeout", () => {
    const t = setup();
    t.round(10, 1000);
    const sentAt = t.clock.now;
    t.admit(5);
    t.clock.now += 1000;
    t.policy.finished(sentAt, t.clock.now);
    expect(t.policy.currentLimit()).toBeCloseTo(0.1, 2);
    expect(t.admit(1)).toBe(1); // nothing in flight: it goes, whatever the limit below one
    expect(t.admit(1)).toBe(0); // one is in flight
    expect(t.policy.retryAllowed()).toBe(false);
    expect(t.policy.waitsPastTimeout(0)).toBe(true);
  });

  it("OVERLOAD_BLIND_RETRIES=off: a timeout is waited for unless another attempt was answered in time meanwhile", () => {
    const t = setup({ blindRetries: false });
    t.round(1, 50); // answered in time, in the millisecond the next one is sent: no evidence for it
    const alone = t.clock.now;
    t.admit(1);
    t.clock.now += 1000;
    expect(t.policy.currentLimit()).toBe(Number.POSITIVE_INFINITY);
    expect(t.policy.waitsPastTimeout(alone)).toBe(true); // waited for, though the limit is lifted
    t.policy.release();

    const hung = t.clock.now;
    t.admit(1);
    t.clock.now += 100;
    t.round(1, 50); // another answered in time while it is out: the upstream serves
    t.clock.now = hung + 1000;
    expect(t.policy.waitsPastTimeout(hung)).toBe(false); // retried as ever
    t.policy.finished(hung, t.clock.now);

    const on = setup(); // the default: a lone timeout is retried whatever was heard
    const sentAt = on.clock.now;
    on.admit(1);
    on.clock.now += 1000;
    expect(on.policy.waitsPastTimeout(sentAt)).toBe(false);
  });

  it("never goes below the minimum limit", () => {
    const t = setup();
    for (let i = 0; i < 50; i++) {
      t.round(20, 1000);
      t.clock.now += 1;
    }
    expect(t.policy.currentLimit()).toBeGreaterThanOrEqual(options.minLimit);
  });

  it("holds retries back before first attempts: none while at or below one attempt, none near the limit", () => {
    const t = setup();
    t.round(100, 900); // limit 10
    expect(t.policy.retryAllowed()).toBe(true);
    t.admit(5); // 5 of 10 in flight: first attempts still go, retries no longer
    expect(t.policy.retryAllowed()).toBe(false);
    expect(t.policy.admitRetry()).toBe(false);
    expect(t.policy.admitFirst()).toBe(true);

    const low = setup();
    low.round(10, 1000); // limit 1
    expect(low.admit(3)).toBe(1); // two turned away
    low.clock.now += 1000;
    low.policy.finished(low.clock.now - 1000, low.clock.now); // limit 0.1
    expect(low.policy.inFlight).toBe(0);
    expect(low.policy.retryAllowed()).toBe(false);
    expect(low.admit(1)).toBe(1); // a first attempt may still go, one at a time
  });

  it("recovers by itself: on-time answers double it each round trip, and it is lifted", () => {
    const t = setup();
    t.round(40, 1000); // limit 4
    let rounds = 0;
    while (t.policy.currentLimit() !== Number.POSITIVE_INFINITY && rounds < 20) {
      t.round(1000, 100);
      rounds++;
    }
    // 4 -> 8 -> 16 -> ... -> 1024 > 1000: lifted in 8 round trips of 100 ms (plus the clock's help).
    expect(rounds).toBeLessThanOrEqual(8);
  });

  it("below one attempt, each answer in time doubles the limit", () => {
    const t = setup();
    t.round(10, 1000); // limit 1
    const sentAt = t.clock.now;
    expect(t.admit(2)).toBe(1);
    t.clock.now += 1000;
    t.policy.finished(sentAt, t.clock.now); // late, with a refusal: 0.1
    t.round(1, 150); // in time: 0.1 x 2^(150 / 1500) regrown by the clock, then doubled
    expect(t.policy.currentLimit()).toBeCloseTo(0.2 * 2 ** 0.1, 3);
  });

  it("recovers by the clock alone when nothing is sent (a pod that hears nothing)", () => {
    const t = setup();
    t.round(10, 1000);
    const sentAt = t.clock.now;
    t.admit(5);
    t.clock.now += 1000;
    t.policy.finished(sentAt, t.clock.now); // limit 0.1: nearly everything is refused
    t.clock.now += 1500 * 4; // four doublings: 1.6
    expect(t.policy.currentLimit()).toBeCloseTo(1.6, 1);
    t.clock.now += 1500 * 10; // past the maximum: lifted
    expect(t.policy.currentLimit()).toBe(Number.POSITIVE_INFINITY);
  });

  it("does not regrow while late answers keep coming", () => {
    const t = setup();
    t.round(10, 1000); // limit 1, cut at this time
    const sentBefore = t.clock.now - 1000;
    const limit = t.policy.currentLimit();
    for (let i = 0; i < 10; i++) {
      t.clock.now += 500;
      t.policy.inFlight += 1; // an attempt of before the cut, answered now
      t.policy.finished(sentBefore, t.clock.now);
    }
    expect(t.policy.currentLimit()).toBeCloseTo(limit, 5);
  });

  it.each([
    ["steady 300 ms", () => 300],
    ["jittery 20-400 ms", (r: number) => 20 + 380 * r],
  ])("never limits a healthy upstream: %s, 200 in flight", (_name, latency) => {
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const t = setup();
    const out: number[] = []; // answer times of the attempts in flight
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      t.clock.now += 1; // 1,000 requests a second
      if (t.policy.admitFirst()) out.push(t.clock.now);
      else refused++;
      while (out.length > 0 && (out[0] as number) + latency(random()) <= t.clock.now) {
        t.policy.finished(out.shift() as number, t.clock.now);
      }
    }
    expect(refused).toBe(0);
    expect(t.policy.currentLimit()).toBe(Number.POSITIVE_INFINITY);
  });

  it("off: admits everything, and still counts what is in flight (for the gauge)", () => {
    const t = setup({ enabled: false });
    t.round(40, 5000);
    expect(t.admit(100)).toBe(100);
    expect(t.policy.inFlight).toBe(100);
    expect(t.policy.retryAllowed()).toBe(true);
    expect(t.policy.admitRetry()).toBe(true);
    expect(t.policy.inFlight).toBe(101); // retries count too
    expect(t.policy.currentLimit()).toBe(Number.POSITIVE_INFINITY);
  });

  describe("waiting past a per-try timeout (waitsPastTimeout)", () => {
    it("while retries are held back: waits, answers or not (the timeout would make room for nothing)", () => {
      const t = setup();
      t.round(40, 1000); // 40 timeouts at once, no answer: limit 4
      expect(t.policy.currentLimit()).toBeCloseTo(4, 1);
      expect(t.admit(4)).toBe(4); // 4 in flight: not under half the limit, retries held back
      expect(t.policy.retryAllowed()).toBe(false);
      expect(t.policy.waitsPastTimeout(0)).toBe(true);
    });

    it("knows the attempts in flight late at the timeout itself, before any other admission", () => {
      const t = setup();
      t.admit(20); // nothing limited yet
      t.clock.now += 1000; // every one past the late mark, and this one at its timeout
      expect(t.policy.waitsPastTimeout(0)).toBe(true);
      expect(t.policy.currentLimit()).toBeLessThan(3);
    });

    it("a lone caller keeps its retries: its timeout is cut and retried (the breaker sees them)", () => {
      const t = setup();
      t.round(1, 1000);
      expect(t.policy.currentLimit()).toBeGreaterThanOrEqual(1);
      expect(t.admit(1)).toBe(1);
      t.clock.now += 1000;
      expect(t.policy.waitsPastTimeout(0)).toBe(false);
    });

    it("while retries may go, the timeout makes room for one: no wait", () => {
      const t = setup();
      t.round(40, 900);
      expect(t.admit(1)).toBe(1); // 1 in flight, under half of 4
      expect(t.policy.retryAllowed()).toBe(true);
      expect(t.policy.waitsPastTimeout(0)).toBe(false);
    });

    it("the attempt at its timeout does not count against its own retry", () => {
      const t = setup();
      t.round(40, 900); // limit 4: a retry goes while fewer than 2 are out
      expect(t.admit(2)).toBe(2);
      expect(t.policy.retryAllowed()).toBe(false); // 2 out, the timed-out one included
      expect(t.policy.waitsPastTimeout(0)).toBe(false); // once it gives its place back, 1 is out: the retry goes
      expect(t.admit(1)).toBe(1);
      expect(t.policy.waitsPastTimeout(0)).toBe(true);
    });

    it("an attempt waited for in vain (no answer by the deadline) drops the limit to a tenth of one attempt", () => {
      const lone = (waitedInVain: boolean) => {
        const t = setup();
        t.round(40, 900); // limit 4
        const sentAt = t.clock.now;
        t.admit(1);
        t.clock.now += 4000;
        t.policy.finished(sentAt, t.clock.now, waitedInVain);
        return t.policy.currentLimit();
      };
      expect(lone(true)).toBeCloseTo(0.1, 5);
      // The same attempt cut at its timeout, or answered late: one late attempt alone, a limit of one.
      expect(lone(false)).toBeCloseTo(1, 5);
    });

    it("answers in time (no limit), or protection off: never", () => {
      const t = setup();
      t.round(40, 100);
      t.admit(100);
      expect(t.policy.waitsPastTimeout(0)).toBe(false);
      const off = setup({ enabled: false });
      off.round(40, 900);
      off.admit(100);
      expect(off.policy.waitsPastTimeout(0)).toBe(false);
    });
  });

  it("an attempt at its per-try timeout is late even if the clock reads a millisecond short of it", () => {
    // Nothing learnt of the upstream yet: only a per-try timeout (1 s) is late. Ten attempts out,
    // the first one's timer fires when the clock still reads 999 ms: they are all late now, the
    // limit is cut (to a tenth of the ten), and that attempt is waited for rather than cut and retried.
    const { clock, policy, admit } = setup({ perTryTimeoutMs: 1000 });
    const sentAt = clock.now;
    expect(admit(10)).toBe(10);
    clock.now += 999;
    expect(policy.waitsPastTimeout(sentAt)).toBe(true);
    expect(policy.currentLimit()).toBe(1);
  });
});

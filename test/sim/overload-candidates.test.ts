import { describe, expect, it } from "vitest";
import {
  InTimeRatioLimit,
  InTimeRatioProtection,
  ProbabilityBelowOne,
} from "../../sim/lib/overload-candidates.js";
import { ConcurrencyLimit } from "../../src/overload/concurrency-limit.js";

// The ways of moving overload protection's limit below one attempt that the fleet simulator
// compared with the default and did not adopt (docs/overload-tried.md): what the figures there
// were measured with.

const options = { decrease: 0.05, recoveryMs: 800, minLimit: 0.02, maxLimit: 1000 };
const ratio = { windowMs: 1200, k: 1, fastMs: 350, fastWeight: 1000 };

/** A limit cut below one attempt at t = 0 (one attempt out, cut to 0.05 of it). */
function cutBelowOne(limit: InTimeRatioLimit): InTimeRatioLimit {
  expect(limit.late(0, 0, 1, options.minLimit)).toBe(true);
  return limit;
}

describe("admission below one by the share answered in time (overload-in-time-ratio)", () => {
  it("is (in-time answers + 1) / (requests + 1) after a cut, never under the lowest limit", () => {
    const limit = cutBelowOne(new InTimeRatioLimit(options, ratio));
    for (let i = 0; i < 3; i++) limit.request(0);
    expect(limit.current(0)).toBeCloseTo(1 / 4);
    limit.onTime(0, -500); // in time, but not fast: one answer
    expect(limit.current(0)).toBeCloseTo(2 / 4);
    for (let i = 0; i < 200; i++) limit.request(0);
    expect(limit.current(0)).toBe(options.minLimit);
  });

  it("does not regrow by the clock while requests keep coming and nothing is answered in time", () => {
    const limit = cutBelowOne(new InTimeRatioLimit(options, ratio));
    for (let t = 0; t <= 5000; t += 100) limit.request(t);
    // The default's limit would have doubled past one by now (0.05 x 2^(5000/800)).
    expect(limit.current(5000)).toBeLessThan(0.1);
  });

  it("goes back to one attempt on an answer well under the late mark, then grows as the default", () => {
    const limit = cutBelowOne(new InTimeRatioLimit(options, ratio));
    for (let i = 0; i < 10; i++) limit.request(100);
    limit.onTime(200, 100);
    expect(limit.current(200)).toBe(1);
    limit.onTime(300, 250); // +1 on the limit regrown by the clock since 200 ms
    expect(limit.current(300)).toBeCloseTo(2 ** (100 / 800) + 1);
  });

  it("goes back to the default once the chance reaches exactly one: regrowth by the clock again", () => {
    const limit = cutBelowOne(new InTimeRatioLimit(options, ratio));
    limit.request(0);
    limit.onTime(0, -500); // (1 + 1) / (1 + 1)
    expect(limit.current(0)).toBe(1);
    expect(limit.current(800)).toBe(2);
  });

  it("forgets requests and in-time answers alike, exponentially over windowMs", () => {
    const limit = cutBelowOne(new InTimeRatioLimit(options, ratio));
    limit.onTime(0, -500);
    for (let i = 0; i < 3; i++) limit.request(0);
    expect(limit.current(0)).toBeCloseTo(2 / 4);
    // Nothing new for one window: both shrink by e, the chance rises (not by the clock's doubling).
    const e = Math.exp(-1);
    expect(limit.current(1200)).toBeCloseTo((e + 1) / (3 * e + 1));
  });

  it("counts an in-time answer in full when it comes, however long since the last request", () => {
    const limit = cutBelowOne(new InTimeRatioLimit(options, ratio));
    for (let i = 0; i < 3; i++) limit.request(0);
    limit.onTime(1200, 700);
    expect(limit.current(1200)).toBeCloseTo(2 / (3 * Math.exp(-1) + 1));
  });

  it("weighs an answer as fastWeight only in under fastMs: one in exactly fastMs is one answer", () => {
    const limit = cutBelowOne(new InTimeRatioLimit(options, ratio));
    for (let i = 0; i < 3; i++) limit.request(0);
    limit.onTime(0, -ratio.fastMs);
    expect(limit.current(0)).toBeCloseTo(2 / 4);
    limit.onTime(0, -ratio.fastMs + 1);
    expect(limit.current(0)).toBe(1);
  });

  it("forgets what was answered in time before the cut", () => {
    const limit = new InTimeRatioLimit(options, ratio);
    for (let i = 0; i < 3; i++) limit.onTime(0, -500); // counted while lifted; the cut must drop them
    cutBelowOne(limit);
    for (let i = 0; i < 3; i++) limit.request(0);
    expect(limit.current(0)).toBeCloseTo(1 / 4);
  });

  it("leaves a cut to one attempt or more to the default: no ratio, regrowth by the clock", () => {
    // Many attempts out: cut to 0.05 x 100 = 5.
    const many = new InTimeRatioLimit(options, ratio);
    expect(many.late(0, 0, 100, options.minLimit)).toBe(true);
    for (let i = 0; i < 3; i++) many.request(0);
    expect(many.current(0)).toBe(5);
    expect(many.current(800)).toBe(10);
    // A lone caller's floor of one attempt: one is not below one.
    const lone = new InTimeRatioLimit(options, ratio);
    expect(lone.late(0, 0, 1, 1)).toBe(true);
    for (let i = 0; i < 3; i++) lone.request(0);
    expect(lone.current(0)).toBe(1);
    expect(lone.current(800)).toBe(2);
  });
});

describe("the in-time ratio as overload protection (overload-in-time-ratio's policy)", () => {
  it("tells the limit of every client request, admitted or not", () => {
    const limit = cutBelowOne(new InTimeRatioLimit(options, ratio));
    const overload = { ...options, enabled: true, lateMs: 600, retryShare: 0.5 };
    const policy = new InTimeRatioProtection(
      overload,
      () => 0,
      () => 0.99,
      limit,
    );
    for (let i = 0; i < 3; i++) expect(policy.admitFirst()).toBe(false); // 0.99 over the chance
    expect(limit.current(0)).toBeCloseTo(1 / 4); // three requests counted
  });
});

describe("the limit below one as a probability of sending (overload-probability, the rule before)", () => {
  it("sends while nothing is in flight with the limit's chance, never with an attempt out", () => {
    const overload = { ...options, enabled: true, lateMs: 600, retryShare: 0.5 };
    let now = 0;
    let draw = 0.05;
    const policy = new ProbabilityBelowOne(
      overload,
      () => now,
      () => draw,
    );
    for (let i = 0; i < 10; i++) expect(policy.admitFirst()).toBe(true);
    now = 1000; // all ten late, ten out: cut to 0.05 x 10 (the other nine are old news)
    for (let i = 0; i < 10; i++) policy.finished(0, now);
    const limit = policy.currentLimit();
    expect(limit).toBeCloseTo(0.5, 5);
    expect(policy.admitFirst()).toBe(true); // 0.05 under the limit
    expect(policy.admitFirst()).toBe(false); // one is out
    policy.release(); // its client left: no sample, the limit stays
    draw = 0.99;
    expect(policy.admitFirst()).toBe(false); // over the limit: the default would send it
  });

  it("sends on a draw under the chance, not on a draw equal to it", () => {
    const overload = { ...options, enabled: true, lateMs: 600, retryShare: 0.5 };
    const limit = new ConcurrencyLimit(options);
    expect(limit.late(0, 0, 10, options.minLimit)).toBe(true); // 0.05 x 10 = 0.5
    let draw = 0.5;
    const policy = new ProbabilityBelowOne(
      overload,
      () => 0,
      () => draw,
      limit,
    );
    expect(policy.admitFirst()).toBe(false);
    draw = 0.49;
    expect(policy.admitFirst()).toBe(true);
  });
});

import { describe, expect, it } from "vitest";
import {
  InTimeRatioLimit,
  InTimeRatioProtection,
  ProbabilityBelowOne,
} from "../../sim/lib/overload-candidates.js";

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
});

import { describe, expect, it } from "vitest";
import { median, range, summarize } from "../../bench/lib/stats.js";

// Every published figure is a summary over interleaved rounds (docs/performance.md): the judged
// round decides, the median is shown beside it, and a round that measured nothing (NaN: a row that
// died, a phase skipped) must not count as a value.

describe("median", () => {
  it("is the middle value of an odd count, whatever the order", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([9])).toBe(9);
  });

  it("is the mean of the middle two of an even count", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([10, 20])).toBe(15);
  });

  it("sorts numerically, not as text", () => {
    expect(median([100, 9, 20])).toBe(20);
  });

  it("leaves out NaN and infinite rounds", () => {
    expect(median([Number.NaN, 1, 3, Number.POSITIVE_INFINITY])).toBe(2);
    expect(median([Number.NaN, 7])).toBe(7);
  });

  it("is NaN when no round measured anything", () => {
    expect(median([])).toBeNaN();
    expect(median([Number.NaN, Number.NaN])).toBeNaN();
  });

  it("does not reorder its input", () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe("range", () => {
  it("is the smallest and largest finite value", () => {
    expect(range([3, Number.NaN, -1, 8, Number.NEGATIVE_INFINITY])).toEqual([-1, 8]);
  });

  it("is NaN at both ends when nothing is finite", () => {
    expect(range([Number.NaN])).toEqual([Number.NaN, Number.NaN]);
  });
});

describe("summarize", () => {
  it("judges by the smallest round by default (CPU, latency: a shared machine only adds cost)", () => {
    const s = summarize([30, 10, 20, 40]);
    expect(s).toEqual({ judged: 10, median: 25, min: 10, max: 40, values: [30, 10, 20, 40] });
  });

  it("judges by the largest round when asked (throughput, memory)", () => {
    expect(summarize([30, 10, 20], "max").judged).toBe(30);
  });

  it("keeps every round's value, NaN included, in a copy", () => {
    const values = [1, Number.NaN];
    const s = summarize(values);
    expect(s.values).toEqual([1, Number.NaN]);
    expect(s.values).not.toBe(values);
    expect(s.judged).toBe(1);
  });
});

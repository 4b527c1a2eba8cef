import { describe, expect, it } from "vitest";
import {
  goodputPerSecond,
  inTimeShareBySecond,
  offeredPerSecond,
  recoveryTime,
  sentWithin,
  successShare,
  triggerGoodputShare,
} from "../../bench/fleet/figures.js";
import { poissonArrivals, type RequestRecord } from "../../bench/fleet/load.js";

const rec = (sentS: number, endS: number, ok: boolean): RequestRecord => ({ pod: 0, sentS, endS, ok });

describe("the fleet check's figures", () => {
  it("success and goodput per second (counted in the second of the answer)", () => {
    const records = [rec(0.1, 0.2, true), rec(0.5, 1.4, true), rec(0.9, 1.9, false), rec(2.5, 7, true)];
    expect(successShare(records)).toBe(0.75);
    expect(goodputPerSecond(records, 3)).toEqual([1, 1, 0]);
    expect(inTimeShareBySecond(records, 4)).toEqual([2 / 3, undefined, 1, undefined]);
  });

  it("a series has a bucket per second of the run: later answers and late sends stay out", () => {
    // The last requests are answered after the run's last second; a stalled harness can send a
    // request scheduled at 2.99 s after 3 s. Neither adds a fourth second to a 3-s run.
    const records = [rec(0.5, 0.6, true), rec(2.9, 3.2, true), rec(3.05, 3.4, true)];
    expect(goodputPerSecond(records, 3)).toEqual([1, 0, 0]);
    expect(offeredPerSecond(records, 3)).toEqual([1, 0, 1]);
  });

  it("recovery: from the trigger's end until every later bucket has >= 90% in time", () => {
    // Buckets 0..5; the trigger ends at 2 s.
    expect(recoveryTime([1, 0, 0.5, 0.95, 1, 1], 2)).toBe(1);
    expect(recoveryTime([1, 0, 0.9, 0.95, 1, 1], 2)).toBe(0);
    // A relapse after a good second resets it; a bucket without requests does not count.
    expect(recoveryTime([1, 0, 0.95, 0.2, undefined, 0.99], 2)).toBe(3);
    // Still below 90% at the end of the run: never.
    expect(recoveryTime([1, 0, 1, 1, 0.5], 2)).toBeNull();
  });

  it("goodput during the trigger: the requests sent during it that were answered in time", () => {
    const records = [
      rec(19.5, 20.2, true), // sent before the drop: does not count
      rec(20.1, 20.5, true),
      rec(21, 26, false),
      rec(25, 31, true), // answered after the drop, still in time: counts
      rec(29, 29.5, true),
      rec(30, 30.1, true), // sent after the drop
    ];
    expect(sentWithin(records, 20, 30)).toBe(4);
    expect(triggerGoodputShare(records, 20, 30)).toBe(3 / 4);
  });

  it("Poisson arrivals: seeded, ascending, within the run, about rate × seconds", () => {
    const times = poissonArrivals(5.6, 70, 3);
    expect(times).toEqual(poissonArrivals(5.6, 70, 3));
    expect(times.every((t, i) => t > (times[i - 1] ?? 0) && t < 70)).toBe(true);
    expect(times.length).toBeGreaterThan(392 * 0.8);
    expect(times.length).toBeLessThan(392 * 1.2);
  });
});

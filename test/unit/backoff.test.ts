import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "../../src/retry/backoff.js";

const spec = { baseMs: 500, maxMs: 10_000, jitter: 0 } as const;

describe("backoff", () => {
  it.each([
    [1, 500],
    [2, 1000],
    [3, 2000],
    [4, 4000],
    [5, 8000],
    [6, 10_000],
    [10, 10_000],
  ])("retry %i waits %i ms without jitter (500 ms base, doubling, 10 s cap)", (retry, expected) => {
    expect(backoffDelayMs(retry, spec, () => 0.5)).toBe(expected);
  });

  it.each([
    [0, 900],
    [0.5, 1000],
    [0.999_999, 1100],
  ])("jitter 0.1 maps random %f to %i ms around 1 s", (r, expected) => {
    expect(backoffDelayMs(2, { ...spec, jitter: 0.1 }, () => r)).toBe(expected);
  });

  it("full jitter is uniform in [0, delay]", () => {
    expect(backoffDelayMs(3, { ...spec, jitter: "full" }, () => 0)).toBe(0);
    expect(backoffDelayMs(3, { ...spec, jitter: "full" }, () => 0.25)).toBe(500);
  });

  it("is never negative and never above the cap, for any settings and random value", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constant("full" as const)),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, baseMs, maxMs, jitter, r) => {
          const delay = backoffDelayMs(retry, { baseMs, maxMs, jitter }, () => r);
          return Number.isInteger(delay) && delay >= 0 && delay <= maxMs;
        },
      ),
    );
  });
});

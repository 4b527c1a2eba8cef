import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRetryAfterMs } from "../../src/retry/retry-after.js";

const now = Date.parse("2026-11-28T12:00:00Z");

describe("Retry-After parsing (RFC 9110 §10.2.3)", () => {
  it.each([
    ["0", 0],
    ["1", 1000],
    ["120", 120_000],
    [" 3 ", 3000],
    ["Sat, 28 Nov 2026 12:00:05 GMT", 5000], // IMF-fixdate
    ["Saturday, 28-Nov-26 12:00:07 GMT", 7000], // obsolete RFC 850
    ["Sat Nov 28 12:00:09 2026", 9000], // obsolete asctime
    ["Sat, 28 Nov 2026 11:00:00 GMT", 0], // in the past: retry now
  ])("%j waits %i ms", (value, expected) => {
    expect(parseRetryAfterMs(value, now)).toBe(expected);
  });

  it.each([
    [undefined],
    [""],
    ["-1"],
    ["1.5"],
    ["soon"],
    ["0x10"],
    ["2026-11-28T12:00:05Z"],
    ["Sat, 28 Nov 2026 12:00:05 UTC"],
    ["Sat, 31 Feb 2026 12:00:05 GMT extra"],
  ])("%j is ignored (normal backoff applies)", (value) => {
    expect(parseRetryAfterMs(value, now)).toBeUndefined();
  });

  it("reads a huge delay-seconds as too long, never as a small or negative wait", () => {
    expect(parseRetryAfterMs("99999999999999999999999", now)).toBeGreaterThan(1e20);
  });

  it("never returns a negative or non-numeric wait for any input", () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const ms = parseRetryAfterMs(value, now);
        return ms === undefined || (ms >= 0 && !Number.isNaN(ms));
      }),
    );
  });

  it("reads back any delay-seconds exactly", () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), (s) => parseRetryAfterMs(String(s), now) === s * 1000),
    );
  });
});

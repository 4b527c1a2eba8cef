import { describe, expect, it } from "vitest";
import { fig, fixed, int, ms, signedMs, spread } from "../../bench/lib/format.js";
import type { RowResult } from "../../bench/lib/results.js";
import { summarize } from "../../bench/lib/stats.js";

// The cells of the README/docs tables: a missing figure is a dash, never "NaN".

describe("number formats", () => {
  it("int rounds and groups thousands; a missing figure is a dash", () => {
    expect(int(30786.6)).toBe("30,787");
    expect(int(Number.NaN)).toBe("—");
    expect(int(Number.POSITIVE_INFINITY)).toBe("—");
  });

  it("fixed keeps the given digits", () => {
    expect(fixed(1)(13.46)).toBe("13.5");
    expect(fixed(3)(0.0752)).toBe("0.075");
    expect(fixed(1)(Number.NaN)).toBe("—");
  });

  it("ms shows microseconds as milliseconds with two decimals", () => {
    expect(ms(950)).toBe("0.95");
    expect(ms(Number.NaN)).toBe("—");
  });

  it("signedMs marks added latency with its sign, zero as +", () => {
    expect(signedMs(630)).toBe("+0.63");
    expect(signedMs(0)).toBe("+0.00");
    expect(signedMs(-50)).toBe("-0.05");
    expect(signedMs(Number.NaN)).toBe("—");
  });
});

describe("spread", () => {
  it("shows the judged round with the median over rounds in small print", () => {
    expect(spread(summarize([13.5, 13.6, 14.2]), fixed(1))).toBe("13.5 <sub>median 13.6</sub>");
  });

  it("shows the judged round alone when only one round measured it", () => {
    expect(spread(summarize([13.5]), fixed(1))).toBe("13.5");
    expect(spread(summarize([13.5, Number.NaN]), fixed(1))).toBe("13.5");
  });

  it("is a dash when no round measured it", () => {
    expect(spread(summarize([Number.NaN, Number.NaN]), fixed(1))).toBe("—");
  });
});

describe("fig", () => {
  it("is the row's summary of that figure", () => {
    const s = summarize([1, 2]);
    const row = { summary: { satRps: s } } as unknown as RowResult;
    expect(fig(row, "satRps")).toBe(s);
  });
});

import { describe, expect, it } from "vitest";
import { ANSWERS_TO_KNOW, LateMark } from "../../src/overload/late-mark.js";

// src/overload/late-mark.ts: base mark 600 ms (0.6 x a per-try timeout of 1 s).
const mark = () => new LateMark(600, 1000);

/** `n` answers of `latencyMs`, `gapMs` apart from `start`; returns the time after the last. */
function answer(m: LateMark, n: number, latencyMs: number, start = 0, gapMs = 250): number {
  let now = start;
  for (let i = 0; i < n; i++, now += gapMs) m.learn(now, latencyMs);
  return now;
}

describe("the late mark", () => {
  it("knows nothing at first: only a per-try timeout is late", () => {
    expect(mark().ms).toBe(1000);
  });

  it("an upstream usually fast: the base mark, once enough answers over two per-try timeouts came", () => {
    const m = mark();
    answer(m, ANSWERS_TO_KNOW, 100, 0, 10); // enough answers, but within 100 ms
    expect(m.ms).toBe(1000);
    answer(m, 1, 100, 2000);
    expect(m.ms).toBe(600);
  });

  it("an upstream steadily slower than the base mark: late only past twice its usual latency", () => {
    const m = mark();
    answer(m, 12, 400);
    expect(m.ms).toBe(800);
    const n = mark();
    answer(n, 12, 700); // twice 700 is past the per-try timeout: only a timeout is late
    expect(n.ms).toBe(1000);
  });

  it("a jittery upstream: the mean of its answers, not the first few, sets the mark", () => {
    // Per-try timeout 500 ms (base mark 300): the slowest answers pass the base mark.
    const m = new LateMark(300, 500);
    // Concurrent requests answer fastest first: 20, 60, ..., 460 ms, then the same again.
    let now = 0;
    for (let round = 0; round < 8; round++) {
      for (let latency = 20; latency <= 460; latency += 40) {
        now += 40;
        m.learn(now, latency);
      }
    }
    // Twice the mean of the answers of its first second (about 225 ms), not of the first ten
    // (200 ms: a mark of 400, past which a sixth of the answers would be late).
    expect(m.ms).toBeGreaterThan(440);
    expect(m.ms).toBeLessThan(500); // known by now: over two per-try timeouts
  });

  it("a level that changes in seconds moves it little; one that lasts minutes moves it all the way", () => {
    const m = mark();
    let now = answer(m, 12, 100);
    expect(m.ms).toBe(600);
    now = answer(m, 20, 500, now, 250); // five seconds of a queue building
    expect(m.ms).toBe(600);
    answer(m, 1200, 500, now, 250); // five minutes of it: the upstream is this slow now
    expect(m.ms).toBeCloseTo(1000, 0);
  });

  it("a timeout teaches it nothing", () => {
    const m = mark();
    answer(m, 12, 100);
    answer(m, 100, 1000, 3000);
    expect(m.ms).toBe(600);
  });
});

import { describe, expect, it } from "vitest";
import { LateShare } from "../../src/overload/late-share.js";

// The share of late answers over the current window and the one before it (windows of 800 ms).

describe("late share", () => {
  it("counts this window and the one before", () => {
    const share = new LateShare(800);
    for (let i = 0; i < 3; i++) share.record(100 + i, false);
    expect(share.record(500, true)).toBe(1 / 4);
    // The next window: the three in time and the late one still count.
    expect(share.record(950, true)).toBe(2 / 5);
  });

  it("forgets a window two windows old, and everything after a long silence", () => {
    const share = new LateShare(800);
    for (let i = 0; i < 9; i++) share.record(i, false);
    share.record(900, false); // second window
    expect(share.record(1_700, true)).toBe(1 / 2); // third window: the first is gone
    expect(share.record(10_000, true)).toBe(1); // silence: nothing of before
  });

  it("a lone late answer is all there is: share 1", () => {
    expect(new LateShare(800).record(5, true)).toBe(1);
  });
});

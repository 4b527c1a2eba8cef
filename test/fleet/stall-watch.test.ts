import { describe, expect, it, vi } from "vitest";
import { markdownTable, type StoredResult } from "../../bench/fleet/report.js";
import { StallWatch, secondRanges } from "../../bench/fleet/stall-watch.js";

// The fleet check says in which seconds of the load its processes stalled, so that a stall while
// a hundred sidecars warm up (before the trigger) is told from one during the trigger.

const row = (variant: "no-retries" | "sidecar", maxMs: number, stalls?: number[]): StoredResult => ({
  scenario: "overload-drop",
  variant,
  pods: 100,
  seconds: 70,
  requests: 10,
  success: 1,
  attemptsPerRequest: 1,
  attemptsCountedBy: "billing",
  billingAttempts: 10,
  goodputPerSecond: [],
  offeredPerSecond: [],
  billingAttemptsPerSecond: [],
  billing: {},
  loopDelayMaxMs: { billing: maxMs, apps: 10 },
  ...(stalls === undefined ? {} : { stallSeconds: { billing: stalls, apps: [0, 1] } }),
  commit: "abc1234",
  date: "2026-12-05",
});

/** Blocks the event loop for `ms` by the wall clock (performance.now may be faked). */
function block(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // the event loop blocked
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the fleet check's stall watch", () => {
  it("notes the second in which the event loop was blocked", async () => {
    const watch = new StallWatch();
    watch.start();
    await new Promise((resolve) => setTimeout(resolve, 50)); // the delay histogram's timer is running
    const until = performance.now() + 400;
    while (performance.now() < until) {
      // the event loop blocked for 400 ms
    }
    await new Promise((resolve) => setTimeout(resolve, 120));
    watch.stop();
    expect(watch.secondsOver()).toContain(0);
    expect(watch.secondsOver(10_000)).toEqual([]);
    expect(watch.maxMs()).toBeGreaterThan(300);
  });

  it("files a stall in its own second with the real once-a-second timer, which fires a little late", async () => {
    const watch = new StallWatch();
    watch.start();
    await pause(100);
    block(300);
    await pause(1200); // past the first tick, at 1,001-1,004 ms: second 0 closes
    watch.stop();
    // Filed under second 0 (a busy machine may add a stall of its own later, never before).
    expect(watch.secondsOver()[0]).toBe(0);
  });

  it("runs of seconds, and the report's note naming them", () => {
    expect(secondRanges([0, 1, 2, 5, 7, 8])).toBe("0–2, 5, 7–8");
    expect(secondRanges([])).toBe("");
    const table = markdownTable([row("no-retries", 20), row("sidecar", 400, [2, 3, 9])]);
    expect(table).toContain("| sidecar | 10 | 100.0% | 1.00 | – | – | 70 s, abc1234 ⚠ |");
    expect(table).toContain("Stalls: `overload-drop` `sidecar` in seconds 0–3, 9 of the load.");
    // Results stored before the watch existed still get the warning, without the seconds.
    expect(markdownTable([row("sidecar", 400)])).not.toContain("Stalls:");
  });

  it("files a stall in the second it happened, and only there", async () => {
    // The clock and the once-a-second timer are faked so that each second closes exactly on
    // time; the delay histogram and the stall itself are real.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] });
    try {
      const watch = new StallWatch();
      watch.start();
      await pause(30);
      vi.advanceTimersByTime(1000); // second 0 closes: quiet
      await pause(30);
      block(300);
      await pause(30); // the histogram records how late its timer ran
      vi.advanceTimersByTime(1000); // second 1 closes: the stall
      await pause(30);
      vi.advanceTimersByTime(1000); // second 2 closes: quiet again, the histogram was reset
      watch.stop();
      expect(watch.secondsOver()).toEqual([1]);
      expect(watch.maxMs()).toBeGreaterThan(250);
      // stop cleared its timer: nothing of the watch runs on
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a stall after stop is not counted (the harness reads the watch after an await)", async () => {
    const watch = new StallWatch();
    watch.start();
    await pause(30);
    watch.stop();
    // Past the histogram's first tick after stop's reset: that tick only restarts its clock.
    await pause(30);
    block(300);
    await pause(30);
    expect(watch.maxMs()).toBeLessThan(250);
    expect(watch.secondsOver()).toEqual([]);
  });

  it("a second in which the loop was never late is not over even 0 ms", () => {
    const watch = new StallWatch();
    watch.start();
    watch.stop(); // the histogram never sampled: that second's delay is 0
    expect(watch.secondsOver(0)).toEqual([]);
    expect(watch.maxMs()).toBe(0);
  });

  it("a running watch does not keep the process alive", () => {
    // A run that throws before stop() must still let the harness exit.
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const watch = new StallWatch();
    watch.start();
    try {
      expect(timers()).toBe(before);
    } finally {
      watch.stop();
    }
  });
});

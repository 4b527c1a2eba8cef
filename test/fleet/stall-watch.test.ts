import { describe, expect, it } from "vitest";
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

  it("runs of seconds, and the report's note naming them", () => {
    expect(secondRanges([0, 1, 2, 5, 7, 8])).toBe("0–2, 5, 7–8");
    expect(secondRanges([])).toBe("");
    const table = markdownTable([row("no-retries", 20), row("sidecar", 400, [2, 3, 9])]);
    expect(table).toContain("| sidecar | 10 | 100.0% | 1.00 | – | – | 70 s, abc1234 ⚠ |");
    expect(table).toContain("Stalls: `overload-drop` `sidecar` in seconds 0–3, 9 of the load.");
    // Results stored before the watch existed still get the warning, without the seconds.
    expect(markdownTable([row("sidecar", 400)])).not.toContain("Stalls:");
  });
});

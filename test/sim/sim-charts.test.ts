import { describe, expect, it } from "vitest";
import { failureChart, goodputChart } from "../../sim/lib/chart.js";
import type { RunResult } from "../../sim/lib/simulate.js";

// The simulator's charts (sim/results/*.svg, shown in the README and docs): each line must sit
// where its figures say, in its variant's colour, in the panel of its pod count.

const run = (over: Partial<RunResult>): RunResult => ({
  scenario: "s",
  variant: "sidecar",
  pods: 10,
  requests: 100,
  attemptsPerRequest: 1,
  success: 1,
  goodput: [],
  recoveryS: undefined,
  duringTrigger: undefined,
  skipped: {},
  ...over,
});

/** Each polyline of an SVG: its stroke, its dash (if any) and its points. */
function lines(svg: string): { stroke: string; dash: string | undefined; points: [number, number][] }[] {
  return [
    ...svg.matchAll(
      /<polyline points="([^"]*)" fill="none" stroke="([^"]+)" stroke-width="2"(?: stroke-dasharray="([^"]+)")?\/>/g,
    ),
  ].map((m) => ({
    stroke: m[2] as string,
    dash: m[3],
    points: (m[1] as string)
      .split(" ")
      .filter((p) => p !== "")
      .map((p) => p.split(",").map(Number) as [number, number]),
  }));
}

describe("the simulator's charts", () => {
  it("goodput per second: a panel per pod count, a line per variant, scaled to the highest second", () => {
    const svg = goodputChart(
      [
        run({ scenario: "drop", variant: "sidecar", pods: 10, goodput: [50, 0, 100] }),
        run({ scenario: "drop", variant: "sidecar-before", pods: 10, goodput: [10, 10, 10] }),
        run({ scenario: "drop", variant: "sidecar", pods: 100, goodput: [0, 0, 0] }),
        run({ scenario: "other", variant: "naive-3x", pods: 10, goodput: [1000, 1000, 1000] }),
      ],
      "drop",
      [10, 100],
      "a note",
    );
    expect(svg).toContain("<title>drop: goodput per second</title>");
    expect(svg).toContain("a note");
    expect(svg).toContain("10 pods: goodput (2xx in time) per second");
    expect(svg).toContain("100 pods: goodput (2xx in time) per second");
    expect(svg).not.toContain("naive-3x"); // another scenario's rows stay out
    // The y axis: a tenth above the highest second of the scenario (100), rounded up, over 200 px
    // from y = 80; x over 300 px per panel.
    const top = Math.ceil(100 * 1.1);
    const y = (v: number) => Number((80 + 200 - (v / top) * 200).toFixed(1));
    expect(lines(svg)).toEqual([
      {
        stroke: "#2b8a3e",
        dash: undefined,
        points: [
          [70, y(50)],
          [220, y(0)],
          [370, y(100)],
        ],
      },
      {
        stroke: "#f59f00",
        dash: "7,4",
        points: [
          [70, y(10)],
          [220, y(10)],
          [370, y(10)],
        ],
      },
      {
        stroke: "#2b8a3e",
        dash: undefined,
        points: [
          [440, y(0)],
          [590, y(0)],
          [740, y(0)],
        ],
      },
      { stroke: "#f59f00", dash: "7,4", points: [] }, // no 100-pod run of it: no points
    ]);
    expect(svg).toMatch(/<text[^>]*>sidecar<\/text>/);
    expect(svg).toMatch(/<text[^>]*>sidecar-before<\/text>/);
  });

  it("goodput of a scenario never run: a small chart that says so", () => {
    expect(goodputChart([run({ scenario: "other" })], "drop", [10], "")).toContain("no results");
  });

  it("random failures: attempts (capped at 4) and success against the failure rate, a point per scenario run", () => {
    const svg = failureChart(
      [
        run({ scenario: "random-5", attemptsPerRequest: 1, success: 1 }),
        run({ scenario: "random-50", attemptsPerRequest: 2, success: 0.5 }),
        run({ scenario: "random-100", attemptsPerRequest: 6, success: 0 }),
        run({ scenario: "random-5", pods: 100, attemptsPerRequest: 1, success: 0.95 }),
      ],
      [10, 100],
      "",
    );
    // x: 5% at 0 px, 100% at 300 px; attempts over 180 px up to 4, success over 180 px up to 100%.
    const x = (p: number, col = 0) => Number((70 + col * 370 + ((p - 5) / 95) * 300).toFixed(1));
    const attempts = (v: number) => Number((80 + 180 - (Math.min(v, 4) / 4) * 180).toFixed(1));
    const success = (v: number) => Number((330 + 180 - (v / 100) * 180).toFixed(1));
    expect(lines(svg).map((l) => l.points)).toEqual([
      [
        [x(5), attempts(1)],
        [x(50), attempts(2)],
        [x(100), attempts(4)],
      ],
      [
        [x(5), success(100)],
        [x(50), success(50)],
        [x(100), success(0)],
      ],
      [[x(5, 1), attempts(1)]],
      [[x(5, 1), success(95)]],
    ]);
    expect(svg).toContain("10 pods: upstream attempts per request");
    expect(svg).toContain("100 pods: success");
    expect(svg).toContain('width="810"'); // 70 + 2 x (300 + 70)
    expect(svg).toMatch(/<text[^>]*>sidecar<\/text>/); // the legend
    const labels = (text: string) =>
      [...svg.matchAll(/text-anchor="(?:end|middle)">([^<]*)<\/text>/g)]
        .map((m) => m[1])
        .filter((l) => l === text);
    for (const tick of ["0.0", "1.0", "2.0", "3.0", "4.0", "0%", "25%", "50%", "75%", "100%"]) {
      expect(labels(tick), tick).toHaveLength(2); // one per pod count
    }
  });

  it("a long run's time axis is labelled every 10 s, a short one every second", () => {
    const xLabels = (seconds: number) => {
      const svg = goodputChart(
        [run({ scenario: "drop", goodput: new Array(seconds).fill(1) })],
        "drop",
        [10],
        "",
      );
      return [...svg.matchAll(/class="axis" text-anchor="middle">(\d+)<\/text>/g)].map((m) => Number(m[1]));
    };
    expect(xLabels(25)).toEqual([0, 10, 20]);
    expect(xLabels(12)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lineChartSvg } from "../../bench/fleet/line-chart.js";
import {
  attemptsChart,
  markdownTable,
  mergeResults,
  overloadChart,
  type StoredResult,
  writeReport,
} from "../../bench/fleet/report.js";
import type { Variant } from "../../bench/fleet/scenarios.js";

// The fleet check's report (bench/fleet/results/): results.json keeps every row measured so far,
// results.md and the SVG charts are made from it. They are the evidence that the simulator agrees
// with real processes, so each row and each line must say what was measured.

const result = (over: Partial<StoredResult> & { scenario: string; variant: Variant }): StoredResult => ({
  pods: 10,
  seconds: 10,
  requests: 100,
  success: 1,
  attemptsPerRequest: 1,
  attemptsCountedBy: "billing",
  billingAttempts: 100,
  goodputPerSecond: [],
  offeredPerSecond: [],
  billingAttemptsPerSecond: [],
  billing: {},
  loopDelayMaxMs: { billing: 10, apps: 10 },
  commit: "abc1234",
  date: "2026-12-05",
  ...over,
});

const id = (r: StoredResult) => `${r.pods} ${r.scenario} ${r.variant}`;

/** Each line of a line chart: its stroke, its dash (if any) and its points. */
function paths(svg: string): { stroke: string; dash: string | undefined; points: number[][] }[] {
  return [
    ...svg.matchAll(
      /<path d="([^"]*)" fill="none" stroke="([^"]+)" stroke-width="2"(?: stroke-dasharray="([^"]+)")?\/>/g,
    ),
  ].map((m) => ({
    stroke: m[2] as string,
    dash: m[3],
    points: [...(m[1] as string).matchAll(/[ML]([-\d.]+),([-\d.]+)/g)].map((p) => [
      Number(p[1]),
      Number(p[2]),
    ]),
  }));
}

/** The y axis's tick labels, bottom to top (a panel's 5 gridlines). */
const yTicks = (svg: string) =>
  [...svg.matchAll(/class="tick" text-anchor="end">([^<]*)<\/text>/g)].map((m) => Number(m[1]));

// A panel: x over 670 px from 60; y over 220 px, its plot 40 px below the panel's top (50, 350, ...).
const px = (v: number, xMax: number) => Number((60 + (v / xMax) * 670).toFixed(1));
const py = (v: number, yMax: number, panel = 0) =>
  Number((50 + panel * 300 + 40 + 220 - (v / yMax) * 220).toFixed(1));

describe("the fleet check's results", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "fleet-report-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("a run replaces the rows it measured, keeps the others, in order of pods, scenario and variant", () => {
    const old = [
      result({ scenario: "overload-drop", variant: "sidecar", pods: 100, commit: "old" }),
      result({ scenario: "overload-drop", variant: "no-retries", pods: 10, commit: "old" }),
      result({ scenario: "random-5", variant: "sidecar", commit: "old" }),
      result({ scenario: "random-5", variant: "no-retries", commit: "old" }),
    ];
    writeFileSync(join(dir, "results.json"), JSON.stringify({ results: old }));
    const fresh = [
      result({ scenario: "random-5", variant: "sidecar", commit: "new" }),
      result({ scenario: "outage-60", variant: "billing-sheds", commit: "new" }),
      result({ scenario: "outage-60", variant: "naive-3x", commit: "new" }),
    ];
    const merged = mergeResults(dir, fresh).results;
    expect(merged.map((r) => `${id(r)} ${r.commit}`)).toEqual([
      "10 random-5 no-retries old",
      "10 random-5 sidecar new",
      "10 outage-60 naive-3x new",
      "10 outage-60 billing-sheds new",
      "10 overload-drop no-retries old",
      "100 overload-drop sidecar old",
    ]);
    // Without a results.json yet: the fresh rows alone, ordered too.
    rmSync(join(dir, "results.json"));
    expect(mergeResults(dir, fresh).results.map(id)).toEqual([
      "10 random-5 sidecar",
      "10 outage-60 naive-3x",
      "10 outage-60 billing-sheds",
    ]);
  });

  it("results.md: attempts the sidecars counted over the whole run (a door in front of billing) say so, without an outage window", () => {
    const table = markdownTable([
      result({
        scenario: "overload-drop",
        variant: "haproxy-sheds-breaker-30",
        attemptsPerRequest: 1.1,
        attemptsCountedBy: "sidecars",
      }),
    ]);
    expect(table).toContain("| overload-drop | haproxy-sheds-breaker-30 | 100 | 100.0% | 1.10 (sidecars) |");
  });

  it("results.md: a table per pod count, a stalled run flagged and explained below its table", () => {
    const table = markdownTable([
      result({ scenario: "outage-60", variant: "no-retries", recoveryS: null, triggerGoodput: 0.25 }),
      result({
        scenario: "outage-60",
        variant: "sidecar",
        recoveryS: 3,
        attemptsPerRequest: 1.234,
        attemptsCountedBy: "sidecars",
        // exactly at the limit: not "more than" it
        loopDelayMaxMs: { billing: 250, apps: 250 },
      }),
      result({ scenario: "overload-drop", variant: "sidecar", pods: 100, seconds: 70, success: 0.5 }),
      result({
        scenario: "overload-drop",
        variant: "naive-3x",
        pods: 100,
        seconds: 70,
        attemptsPerRequest: Number.NaN,
        loopDelayMaxMs: { billing: 10, apps: 300 },
        stallSeconds: { billing: [], apps: [4] },
      }),
    ]);
    const header = [
      "| scenario | variant | requests | success | attempts / request | recovery | goodput during trigger | run |",
      "|---|---|---:|---:|---:|---:|---:|---|",
    ];
    expect(table.split("\n")).toEqual([
      "### 10 pods",
      "",
      ...header,
      "| outage-60 | no-retries | 100 | 100.0% | 1.00 | never | 25.0% | 10 s, abc1234 |",
      "| outage-60 | sidecar | 100 | 100.0% | 1.23 (sidecars, outage window) | 3 s | – | 10 s, abc1234 |",
      "", // the table ends before the next heading
      "### 100 pods",
      "",
      ...header,
      "| overload-drop | sidecar | 100 | 50.0% | 1.00 | – | – | 70 s, abc1234 |",
      "| overload-drop | naive-3x | 100 | 100.0% | – | – | – | 70 s, abc1234 ⚠ |",
      "",
      "⚠ billing's or the apps' event loop stalled for more than 250 ms in this run (the machine was too busy): its figures are not the model's; run it again on a quieter machine. Stalls: `overload-drop` `naive-3x` in second 4 of the load.",
      "",
    ]);
  });

  it("the overload chart: offered load dashed, then a line per default variant of that pod count", () => {
    const seconds = 10;
    const fill = (v: number) => new Array(seconds).fill(v) as number[];
    const results = [
      result({
        scenario: "overload-drop",
        variant: "no-retries",
        seconds,
        offeredPerSecond: fill(56),
        goodputPerSecond: fill(40),
        billingAttemptsPerSecond: fill(80),
      }),
      result({
        scenario: "overload-drop",
        variant: "sidecar",
        seconds,
        offeredPerSecond: fill(1),
        goodputPerSecond: fill(50),
        billingAttemptsPerSecond: fill(60),
      }),
      // A setting's other choice, another pod count, another scenario: not in this chart.
      result({ scenario: "overload-drop", variant: "billing-sheds", seconds, goodputPerSecond: fill(999) }),
      result({ scenario: "overload-drop", variant: "naive-3x", pods: 100, goodputPerSecond: fill(999) }),
      result({ scenario: "outage-60", variant: "naive-3x", goodputPerSecond: fill(999) }),
    ];
    const svg = overloadChart(results, 10) as string;
    expect(svg).toContain("overload-drop, 10 real sidecars: goodput per second");
    // Goodput: offered (the first row's) peaks at 56, ×1.05 = 58.8, rounded up to 100; billing's
    // attempts peak at 80 → 84 → 100 too.
    const line = (values: number[], panel: number) =>
      values.map((v, i) => [px(i + 0.5, seconds), py(v, 100, panel)]);
    expect(paths(svg)).toEqual([
      { stroke: "#adb5bd", dash: "5,4", points: line(fill(56), 0) },
      { stroke: "#495057", dash: undefined, points: line(fill(40), 0) },
      { stroke: "#d9480f", dash: undefined, points: line(fill(50), 0) },
      { stroke: "#495057", dash: undefined, points: line(fill(80), 1) },
      { stroke: "#d9480f", dash: undefined, points: line(fill(60), 1) },
    ]);
    expect(yTicks(svg)).toEqual([0, 25, 50, 75, 100, 0, 25, 50, 75, 100]);
    // No overload-drop run at this pod count: no chart.
    expect(overloadChart(results, 30)).toBeUndefined();
    expect(overloadChart([], 10)).toBeUndefined();
  });

  it("the attempts chart: a point per failure rate run, a line per default variant, in their order", () => {
    const results = [
      result({ scenario: "random-50", variant: "sidecar", attemptsPerRequest: 1.5 }),
      result({ scenario: "random-5", variant: "sidecar", attemptsPerRequest: 1 }),
      // 40 attempts for 21 requests: ×1.05 is exactly 2, the axis' top
      result({ scenario: "random-100", variant: "no-retries", attemptsPerRequest: 40 / 21 }),
      result({ scenario: "random-5", variant: "no-retries", attemptsPerRequest: 1 }),
      // Another pod count, a scenario not random, a setting's other choice: not in this chart.
      result({ scenario: "random-30", variant: "sidecar", pods: 100, attemptsPerRequest: 9 }),
      result({ scenario: "outage-60", variant: "naive-3x", attemptsPerRequest: 9 }),
      result({ scenario: "random-30", variant: "billing-sheds", attemptsPerRequest: 9 }),
    ];
    const svg = attemptsChart(results, 10) as string;
    expect(svg).toContain("Upstream attempts per request vs failure rate, 10 real sidecars");
    expect(paths(svg)).toEqual([
      {
        stroke: "#495057",
        dash: undefined,
        points: [
          [px(5, 100), py(1, 2)],
          [px(100, 100), py(40 / 21, 2)],
        ],
      },
      {
        stroke: "#d9480f",
        dash: undefined,
        points: [
          [px(5, 100), py(1, 2)],
          [px(50, 100), py(1.5, 2)],
        ],
      },
    ]);
    expect(yTicks(svg)).toEqual([0, 0.5, 1, 1.5, 2]);
    expect(svg).not.toContain(">naive-3x<");
    expect(svg).not.toContain(">billing-sheds<");
    expect(attemptsChart(results, 30)).toBeUndefined();
  });

  it("a chart of zeros still has a y axis (0 to 1) and its line on the x axis", () => {
    const svg = lineChartSvg("t", "s", [
      {
        title: "p",
        xLabel: "x",
        yLabel: "y",
        xMax: 2,
        xTicks: [0, 2],
        series: [{ label: "zero", color: "#000", points: [[1, 0]] }],
      },
    ]);
    expect(svg).not.toContain("NaN");
    expect(yTicks(svg)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(paths(svg)[0]?.points).toEqual([[px(1, 2), py(0, 1)]]);
  });

  it("writes results.json, results.md and each pod count's charts, and says which files", () => {
    const results = mergeResults(dir, [
      result({ scenario: "random-5", variant: "sidecar" }),
      result({ scenario: "overload-drop", variant: "sidecar", goodputPerSecond: [1, 2] }),
      result({ scenario: "overload-drop", variant: "sidecar", pods: 100, goodputPerSecond: [3, 4] }),
    ]);
    const written = writeReport(dir, results);
    expect(written).toEqual(
      [
        "results.json",
        "results.md",
        "overload-drop-10pods.svg",
        "attempts-vs-failure-10pods.svg",
        "overload-drop-100pods.svg",
      ].map((name) => join(dir, name)),
    );
    expect(existsSync(join(dir, "attempts-vs-failure-100pods.svg"))).toBe(false);
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    expect(JSON.parse(read("results.json"))).toEqual(results);
    const md = read("results.md");
    expect(md.startsWith("# Fleet check: real sidecar processes")).toBe(true);
    expect(md.endsWith(`\n${markdownTable(results.results)}`)).toBe(true);
    expect(read("overload-drop-10pods.svg")).toBe(overloadChart(results.results, 10));
    expect(read("overload-drop-100pods.svg")).toBe(overloadChart(results.results, 100));
    expect(read("attempts-vs-failure-10pods.svg")).toBe(attemptsChart(results.results, 10));
    // The next run merges into what this one wrote.
    const next = mergeResults(dir, [result({ scenario: "random-5", variant: "sidecar", commit: "next" })]);
    expect(next.results.map((r) => `${id(r)} ${r.commit}`)).toEqual([
      "10 random-5 sidecar next",
      "10 overload-drop sidecar abc1234",
      "100 overload-drop sidecar abc1234",
    ]);
  });
});

import { describe, expect, it } from "vitest";
import { chartSvg, type Panel } from "../../bench/lib/chart.js";
import { fixed } from "../../bench/lib/format.js";
import { summarize } from "../../bench/lib/stats.js";

// The README/docs chart: per panel, each row's judged round as a bar and a min–max whisker over the
// rounds. Geometry: bars start at x = 330 and the plot is 600 px wide; the scale's top is 5% above
// the largest value shown; panels stack from y = 50, each 38 px of head, 22 px per bar, 14 px foot.

const PLOT_X = 330;
const PLOT_W = 600;

const panel = (bars: Panel["bars"], over: Partial<Panel> = {}): Panel => ({
  title: "CPU (µs)",
  better: "lower",
  format: fixed(1),
  bars,
  ...over,
});
const bar = (label: string, values: number[], judgedBy: "min" | "max" = "min", highlight = false) => ({
  label,
  value: summarize(values, judgedBy),
  highlight,
});

const rects = (svg: string) =>
  [...svg.matchAll(/<rect x="(\d+)" y="(\d+)" width="([-\d.]+)" height="16" fill="([^"]+)"\/>/g)].map(
    (m) => ({
      y: Number(m[2]),
      width: Number(m[3]),
      fill: m[4],
    }),
  );
const whiskers = (svg: string) =>
  [
    ...svg.matchAll(/<line x1="([-\d.]+)" x2="([-\d.]+)" y1="([-\d.]+)" y2="([-\d.]+)" class="whisker"\/>/g),
  ].map((m) => m.slice(1, 5).map(Number));
const values = (svg: string) => [...svg.matchAll(/class="value">([^<]*)<\/text>/g)].map((m) => m[1]);

describe("chartSvg", () => {
  it("draws each bar at the judged round, scaled to 5% above the largest value shown", () => {
    // Judged by the best (smallest) round; the largest value any round reached sets the scale.
    const svg = chartSvg("t", "s", [panel([bar("a", [20, 40, 30]), bar("b", [10, 12])])]);
    const scaleMax = 40 * 1.05;
    const [a, b] = rects(svg);
    expect(a?.width).toBeCloseTo((20 / scaleMax) * PLOT_W, 1);
    expect(b?.width).toBeCloseTo((10 / scaleMax) * PLOT_W, 1);
    expect(values(svg)).toEqual(["20.0", "10.0"]);
  });

  it("draws the whisker from the smallest to the largest round", () => {
    const svg = chartSvg("t", "s", [panel([bar("a", [20, 40, 30])])]);
    const x = (v: number) => Number((PLOT_X + (v / 42) * PLOT_W).toFixed(1));
    const cy = 50 + 38 + 8;
    expect(whiskers(svg)).toEqual([
      [x(20), x(40), cy, cy],
      [x(20), x(20), cy - 4, cy + 4],
      [x(40), x(40), cy - 4, cy + 4],
    ]);
  });

  it("draws no whisker when every round measured the same, or only one did", () => {
    const svg = chartSvg("t", "s", [panel([bar("a", [5, 5]), bar("b", [7])])]);
    expect(rects(svg)).toHaveLength(2);
    expect(whiskers(svg)).toEqual([]);
  });

  it("writes n/a, and no bar, for a row that measured nothing", () => {
    const svg = chartSvg("t", "s", [panel([bar("direct", [Number.NaN]), bar("b", [7])])]);
    expect(rects(svg)).toHaveLength(1);
    expect(svg).toMatch(/class="note">n\/a<\/text>/);
    expect(values(svg)).toEqual(["7.0"]);
  });

  it("draws a negative value as an empty bar, not one that runs left", () => {
    const svg = chartSvg("t", "s", [panel([bar("a", [-3]), bar("b", [10])])]);
    expect(rects(svg)[0]?.width).toBe(0);
  });

  it("keeps a finite scale when no value is above zero", () => {
    const svg = chartSvg("t", "s", [panel([bar("a", [0]), bar("b", [Number.NaN])])]);
    expect(rects(svg)).toEqual([{ y: 88, width: 0, fill: "#868e96" }]);
    expect(svg).not.toContain("NaN");
  });

  it("highlights the shipped row's bar", () => {
    const svg = chartSvg("t", "s", [panel([bar("nginx", [1]), bar("sidecar", [2], "min", true)])]);
    expect(rects(svg).map((r) => r.fill)).toEqual(["#868e96", "#d9480f"]);
  });

  it("stacks the panels and sizes the document to hold them", () => {
    const svg = chartSvg("t", "s", [
      panel([bar("a", [1]), bar("b", [2])], { title: "first" }),
      panel([bar("c", [3])], { title: "second", better: "higher" }),
    ]);
    const first = 38 + 2 * 22 + 14;
    const second = 38 + 22 + 14;
    expect(svg).toContain(`height="${50 + first + second + 10}"`);
    expect(rects(svg).map((r) => r.y)).toEqual([88, 110, 50 + first + 38]);
    expect(svg).toContain(`<text x="10" y="${50 + first + 18}" class="title">second</text>`);
    expect(svg).toContain("higher is better");
    expect(svg).toContain("lower is better");
  });

  it("escapes the labels, titles and values", () => {
    const svg = chartSvg("a < b", "c & d", [
      panel([bar("<x>", [1])], { title: "p & q", format: () => "<1>" }),
    ]);
    expect(svg).toContain("a &lt; b");
    expect(svg).toContain("c &amp; d");
    expect(svg).toContain(">p &amp; q</text>");
    expect(svg).toContain(">&lt;x&gt;</text>");
    expect(values(svg)).toEqual(["&lt;1&gt;"]);
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chart, markdown, writeSection } from "../../bench/lib/report.js";
import type { BenchResults, Goal } from "../../bench/lib/results.js";
import { summarize } from "../../bench/lib/stats.js";
import { benchResults, round, row } from "./support/bench-fixtures.js";

// The generated section of docs/performance.md (and the README's) and its chart: each row by its
// judged round with the median in small print, the goals with their verdicts, the scenarios.

const goal = (over: Partial<Goal> & { unit: Goal["unit"] }): Goal => ({
  name: "g",
  target: "≤ 1",
  judged: 1,
  value: summarize([1]),
  met: true,
  ...over,
});

function results(over: Partial<BenchResults> = {}): BenchResults {
  return benchResults({
    rows: [
      row("direct", "direct to upstream", [round({ satRps: 88_000, rateP50Us: 40, rateP99Us: 90 })]),
      row("sidecar", "retry-sidecar", [
        round({ satRps: 30_787, satCpuUs: 35.7, addedP99Us: 1010 }),
        round({ satRps: 27_000, satCpuUs: 31.8, addedP99Us: 630 }),
      ]),
    ],
    ...over,
  });
}

const lineOf = (md: string, start: string) => md.split("\n").find((l) => l.startsWith(start));

describe("markdown", () => {
  it("states the command, the time to the minute, the commit and the run's settings", () => {
    const md = markdown(results(), "chart.svg");
    const [first, second, third, fourth] = md.split("\n");
    expect(first).toBe("Measured by `npm run bench` on 2026-12-05 18:34 UTC (commit `abc1234`),");
    expect(second).toBe(
      "Node 20.20.2, 2 CPUs, proxy on CPU 0. 2 interleaved round(s); each row is judged by its best round",
    );
    expect(third).toContain("wrk, 1 thread, 32 connections,");
    expect(fourth).toBe("5 s per row per round. Fixed rate: 1000 req/s open loop for 8 s.");
  });

  it("names the sidecar's Node lines, its memory limit and the peers' Node when known", () => {
    const r = results();
    r.meta = { ...r.meta, node24: "24.21.0", node20: "20.20.2", memoryLimit: "128Mi", peersNode: "24.21.0" };
    expect(markdown(r, "c.svg").split("\n")[1]).toBe(
      "retry-sidecar on Node 24.21.0 (the image's line) and on Node 20.20.2 (its Node 20 row), memory limit 128Mi; Node peers on 24.21.0; 2 CPUs, proxy on CPU 0. 2 interleaved round(s); each row is judged by its best round",
    );
  });

  it("shows each row by its judged round with the median beside; direct has no proxy figures", () => {
    const md = markdown(results(), "chart.svg");
    expect(lineOf(md, "| direct to upstream |")).toBe(
      "| direct to upstream | 88,000 | 0.95 / 3.65 | — | — | — | (0.04 / 0.09 absolute) |",
    );
    // Throughput by its largest round, CPU and added latency by their smallest.
    expect(lineOf(md, "| retry-sidecar |")).toBe(
      "| retry-sidecar | 30,787 <sub>median 28,894</sub> | 0.95 / 3.65 | 31.8 <sub>median 33.8</sub> | 75.2 <sub>median 75.2</sub> | 108.6 <sub>median 108.6</sub> | +0.10 / +0.63 <sub>median +0.82</sub> |",
    );
  });

  it("formats each goal in its unit, with the verdict only for real targets", () => {
    const md = markdown(
      results({
        goals: [
          goal({ name: "ratio", unit: "x", judged: 1.106, value: summarize([1.04, 1.11, 1.25]), met: true }),
          goal({ name: "ws", unit: "MB", judged: 75.44, value: summarize([73.3, 75.44]), met: false }),
          goal({ name: "vcpu", unit: "vCPU", judged: 0.0752, value: summarize([0.0752]), met: true }),
          goal({ name: "oom", unit: "count", judged: 0, value: summarize([0]), met: true }),
          goal({ name: "rss", unit: "MB", target: "info", judged: 87.2, value: summarize([87.2]) }),
          goal({ name: "ab", unit: "x", target: "A/B", judged: 0.98, value: summarize([0.98]), met: false }),
        ],
      }),
      "chart.svg",
    );
    expect(lineOf(md, "| ratio |")).toBe("| ratio | ≤ 1 | 1.11× | 1.11× <sub>1.04×–1.25×</sub> | met |");
    expect(lineOf(md, "| ws |")).toBe(
      "| ws | ≤ 1 | 75.4 MB | 74.4 MB <sub>73.3 MB–75.4 MB</sub> | **not met** |",
    );
    expect(lineOf(md, "| vcpu |")).toBe("| vcpu | ≤ 1 | 0.075 vCPU | — | met |");
    expect(lineOf(md, "| oom |")).toBe("| oom | ≤ 1 | 0 | — | met |");
    expect(lineOf(md, "| rss |")).toBe("| rss | info | 87.2 MB | — |  |");
    expect(lineOf(md, "| ab |")).toBe("| ab | A/B | 0.98× | — |  |");
  });

  it("includes the per-1,000 req/s and memory tables after the rows, and no empty lines of its own", () => {
    const md = markdown(results(), "chart.svg");
    const perThousand = md.indexOf("Per 1,000 req/s (Istio's units)");
    const memory = md.indexOf("Memory as the kubelet sees it.");
    expect(perThousand).toBeGreaterThan(md.indexOf("| retry-sidecar |"));
    expect(memory).toBeGreaterThan(perThousand);
    expect(md.indexOf("Goals, for the `retry-sidecar` row")).toBeGreaterThan(memory);
    // Without notes, scenarios or profiles: one blank line between the blocks, never two.
    expect(md).not.toContain("\n\n\n");
  });

  it("adds the retry scenario tables only when they ran", () => {
    const none = markdown(results(), "chart.svg");
    expect(none).not.toContain("Retry scenarios");
    expect(none).not.toContain("30% independent 503s");
    const md = markdown(
      results({
        outage: [
          {
            name: "RETRIES=2",
            clientRequests: 100,
            upstreamAttempts: 300,
            attemptsPerRequest: 3,
            expected: "3",
          },
        ],
        flaky: [
          {
            name: "RETRIES=2",
            retries: 2,
            clientRequests: 200,
            succeeded: 195,
            successRate: 0.975,
            theory: 0.973,
            upstreamAttempts: 270,
          },
        ],
      }),
      "chart.svg",
    );
    expect(md).toContain("Retry scenarios");
    expect(lineOf(md, "| RETRIES=2 | 100 |")).toBe("| RETRIES=2 | 100 | 300 | 3.00 | 3 |");
    expect(lineOf(md, "| RETRIES=2 | 200 |")).toBe("| RETRIES=2 | 200 | 195 | 97.5% | 97.3% | 1.35 |");
  });

  it("lists the notes and the CPU profiles by their repository path, then links the chart last", () => {
    const md = markdown(
      results({
        notes: ["one", "two"],
        profiles: [
          { row: "sidecar", file: "/work/x/bench/results/tmp/profiles/sidecar.cpuprofile", summary: "" },
        ],
      }),
      "img/chart.svg",
    );
    expect(md).toContain("\n- one\n- two\n");
    expect(md).toContain("CPU profiles (`--cpu-prof`): `bench/results/tmp/profiles/sidecar.cpuprofile`;");
    expect(md.endsWith("\n\n![bench chart](img/chart.svg)")).toBe(true);
    expect(markdown(results({ profiles: [] }), "c.svg")).not.toContain("CPU profiles");
  });
});

describe("chart", () => {
  const bars = (svg: string) =>
    [...svg.matchAll(/class="label">([^<]*)<\/text>\n<rect [^>]*width="([\d.]+)"[^>]*fill="([^"]+)"/g)].map(
      (m) => [m[1], m[3]],
    );

  it("has five panels; direct is shown only for throughput; the shipped row is highlighted", () => {
    const svg = chart(results());
    const titles = [...svg.matchAll(/class="title">([^<]*)</g)].map((m) => m[1]);
    expect(titles).toEqual([
      "Saturation throughput (req/s)",
      "Proxy CPU per request at saturation (µs)",
      "Proxy CPU per request at 1000 req/s (µs)",
      "Added p99 latency over direct at 1000 req/s (ms)",
      "Peak RSS under saturation (MB)",
    ]);
    expect(bars(svg)).toEqual([
      ["direct to upstream", "#868e96"],
      ["retry-sidecar", "#d9480f"],
      ["retry-sidecar", "#d9480f"],
      ["retry-sidecar", "#d9480f"],
      ["retry-sidecar", "#d9480f"],
      ["retry-sidecar", "#d9480f"],
    ]);
    expect(svg).toContain("2026-12-05 · commit abc1234 · 2 rounds · proxy on CPU 0");
  });

  it("shows the added p99 in ms, the judged round's value with its whisker scaled alike", () => {
    const values = [...chart(results()).matchAll(/class="value">([^<]*)</g)].map((m) => m[1]);
    // throughput (direct, sidecar), CPU at saturation, CPU at the rate, added p99 (ms), peak RSS.
    expect(values).toEqual(["88,000", "30,787", "31.8", "75.2", "0.63", "108.6"]);
    const svg = chart(results());
    const p99 = svg.split("Added p99 latency")[1]?.split("Peak RSS")[0] ?? "";
    // Bar at 0.63 ms, whisker 0.63–1.01 ms, on a scale up to 1.0605 ms: 0.63/1.0605 of 600 px = 356.4 px.
    expect(p99).toMatch(/width="356\.4"/);
    expect(p99).toContain('x1="686.4" x2="901.4"');
  });
});

describe("writeSection", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bench-report-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const START = "<!-- bench:start (written by `npm run bench`; do not edit by hand) -->";
  const END = "<!-- bench:end -->";

  it("replaces only the text between the markers", () => {
    const file = join(dir, "README.md");
    writeFileSync(file, `# T\n\nbefore\n${START}\nold\n${END}\nafter\n`);
    writeSection(file, "new", "intro");
    expect(readFileSync(file, "utf8")).toBe(`# T\n\nbefore\n${START}\nnew\n${END}\nafter\n`);
    // Again: the same text, not a second block.
    writeSection(file, "new", "intro");
    expect(readFileSync(file, "utf8")).toBe(`# T\n\nbefore\n${START}\nnew\n${END}\nafter\n`);
  });

  it("finds the markers at the very start of the file", () => {
    const file = join(dir, "README.md");
    writeFileSync(file, `${START}\nold\n${END}\n`);
    writeSection(file, "new", "intro");
    expect(readFileSync(file, "utf8")).toBe(`${START}\nnew\n${END}\n`);
  });

  it("adds a Performance section at the end of a file without markers", () => {
    const file = join(dir, "README.md");
    writeFileSync(file, "# T\n\ntext\n\n\n");
    writeSection(file, "gen", "The intro.");
    expect(readFileSync(file, "utf8")).toBe(
      `# T\n\ntext\n\n## Performance\n\nThe intro.\n\n${START}\ngen\n${END}\n`,
    );
  });

  it("creates the file when there is none", () => {
    const file = join(dir, "new.md");
    writeSection(file, "gen", "The intro.");
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe(`## Performance\n\nThe intro.\n\n${START}\ngen\n${END}\n`);
  });

  it("adds a new section rather than cutting text when the end marker comes before the start", () => {
    const file = join(dir, "README.md");
    writeFileSync(file, `${END}\nkeep\n${START}\n`);
    writeSection(file, "gen", "i");
    expect(readFileSync(file, "utf8")).toBe(
      `${END}\nkeep\n${START}\n\n## Performance\n\ni\n\n${START}\ngen\n${END}\n`,
    );
  });
});

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LinePanel, lineChartSvg, VARIANT_COLORS } from "./line-chart.js";
import type { VariantResult } from "./run-variant.js";
import { ALL_VARIANTS, RANDOM_RATES, SCENARIO_NAMES, VARIANTS } from "./scenarios.js";
import { STALL_MS, secondRanges } from "./stall-watch.js";

// results.json keeps every (scenario, variant, pods) measured so far: a run replaces the rows it
// measured and keeps the others, so re-running one scenario updates its rows alone. results.md and
// the charts are made from it.

export interface StoredResult extends VariantResult {
  commit: string;
  date: string;
}

export interface FleetResults {
  results: StoredResult[];
}

const key = (r: { scenario: string; variant: string; pods: number }) =>
  `${r.scenario}|${r.variant}|${r.pods}`;

export function mergeResults(dir: string, fresh: readonly StoredResult[]): FleetResults {
  const file = join(dir, "results.json");
  const old: FleetResults = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : { results: [] };
  const replaced = new Set(fresh.map(key));
  const results = [...old.results.filter((r) => !replaced.has(key(r))), ...fresh];
  const order = (r: StoredResult) =>
    r.pods * 1e4 + SCENARIO_NAMES.indexOf(r.scenario) * 10 + ALL_VARIANTS.indexOf(r.variant as never);
  results.sort((a, b) => order(a) - order(b));
  return { results };
}

const stalled = (r: VariantResult) =>
  r.loopDelayMaxMs !== undefined && Math.max(r.loopDelayMaxMs.billing, r.loopDelayMaxMs.apps) > STALL_MS;

/** Where the stalls were, for the rows that recorded it: a stall before a trigger leaves its figures alone. */
function whenStalled(rows: readonly VariantResult[]): string {
  const where = rows.flatMap((r) => {
    const s = r.stallSeconds;
    if (!stalled(r) || s === undefined) return [];
    const seconds = [...new Set([...s.billing, ...s.apps])].sort((a, b) => a - b);
    return [
      `\`${r.scenario}\` \`${r.variant}\` in second${seconds.length === 1 ? "" : "s"} ${secondRanges(seconds)} of the load`,
    ];
  });
  return where.length === 0 ? "" : ` Stalls: ${where.join("; ")}.`;
}

const pct = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "–" : `${(v * 100).toFixed(1)}%`;

function recovery(r: VariantResult): string {
  if (r.recoveryS === undefined) return "–";
  return r.recoveryS === null ? "never" : `${r.recoveryS.toFixed(0)} s`;
}

/** One table per pod count: a row per (scenario, variant). */
export function markdownTable(results: readonly StoredResult[]): string {
  const out: string[] = [];
  for (const pods of [...new Set(results.map((r) => r.pods))]) {
    const rows = results.filter((r) => r.pods === pods);
    out.push(
      `### ${pods} pods`,
      "",
      "| scenario | variant | requests | success | attempts / request | recovery | goodput during trigger | run |",
      "|---|---|---:|---:|---:|---:|---:|---|",
    );
    for (const r of rows) {
      const attempts = Number.isFinite(r.attemptsPerRequest) ? r.attemptsPerRequest.toFixed(2) : "–";
      // The outage counts the attempts of its window (billing cannot count refused connections); a
      // door in front of billing counts the whole run in the sidecars (billing sees what it lets in).
      const window = r.scenario.startsWith("outage") ? ", outage window" : "";
      const counted = r.attemptsCountedBy === "billing" ? "" : ` (${r.attemptsCountedBy}${window})`;
      out.push(
        `| ${r.scenario} | ${r.variant} | ${r.requests} | ${pct(r.success)} | ${attempts}${counted} | ${recovery(r)} | ${pct(r.triggerGoodput)} | ${r.seconds} s, ${r.commit}${stalled(r) ? " ⚠" : ""} |`,
      );
    }
    out.push("");
    if (rows.some(stalled)) {
      out.push(
        `⚠ billing's or the apps' event loop stalled for more than ${STALL_MS} ms in this run (the machine was too busy): its figures are not the model's; run it again on a quieter machine.${whenStalled(rows)}`,
        "",
      );
    }
  }
  return out.join("\n");
}

export function overloadChart(results: readonly StoredResult[], pods: number): string | undefined {
  // The default rows only: a setting's other choice is in the table, not in the chart.
  const rows = results.filter(
    (r) => r.scenario === "overload-drop" && r.pods === pods && VARIANTS.includes(r.variant as never),
  );
  const first = rows[0];
  if (first === undefined) return undefined;
  const seconds = first.seconds;
  const scale = seconds / 70;
  const shade = { from: 20 * scale, to: 30 * scale, caption: "capacity at 1/5" };
  const ticks = Array.from({ length: Math.floor(seconds / 10) + 1 }, (_, i) => i * 10);
  const series = (pick: (r: StoredResult) => number[]) =>
    rows.map((r) => ({
      label: r.variant,
      color: VARIANT_COLORS[r.variant] ?? "#000",
      points: pick(r).map((v, i) => [i + 0.5, v] as const),
    }));
  const offered = {
    label: "offered",
    color: VARIANT_COLORS.offered as string,
    dashed: true,
    points: first.offeredPerSecond.map((v, i) => [i + 0.5, v] as const),
  };
  const panels: LinePanel[] = [
    {
      title: "Goodput: 2xx answered within the app's 5 s timeout, per second",
      xLabel: "seconds since the load started",
      yLabel: "requests / s",
      xMax: seconds,
      xTicks: ticks,
      series: [offered, ...series((r) => r.goodputPerSecond)],
      shade,
    },
    {
      title: "Attempts billing received per second (capacity 80/s, 16/s during the drop)",
      xLabel: "seconds since the load started",
      yLabel: "attempts / s",
      xMax: seconds,
      xTicks: ticks,
      series: series((r) => r.billingAttemptsPerSecond),
      shade,
    },
  ];
  return lineChartSvg(
    `overload-drop, ${pods} real sidecars: goodput per second`,
    `npm run fleet -- --scenario=overload-drop --pods=${pods} · 8 workers × 100 ms, 56 req/s offered, capacity to a fifth for 10 s`,
    panels,
  );
}

export function attemptsChart(results: readonly StoredResult[], pods: number): string | undefined {
  const rows = results.filter((r) => r.pods === pods && r.scenario.startsWith("random-"));
  if (rows.length === 0) return undefined;
  const variants = VARIANTS.filter((v) => rows.some((r) => r.variant === v));
  return lineChartSvg(
    `Upstream attempts per request vs failure rate, ${pods} real sidecars`,
    "npm run fleet · billing answers 503 at random with probability p; 20 req/s over the fleet",
    [
      {
        title: "attempts billing received / requests the apps sent",
        xLabel: "failure rate p (%)",
        yLabel: "attempts / request",
        xMax: 100,
        xTicks: [0, ...RANDOM_RATES],
        series: variants.map((variant) => ({
          label: variant,
          color: VARIANT_COLORS[variant] ?? "#000",
          points: RANDOM_RATES.flatMap((p) => {
            const r = rows.find((x) => x.variant === variant && x.scenario === `random-${p}`);
            return r ? [[p, r.attemptsPerRequest] as const] : [];
          }),
        })),
      },
    ],
  );
}

export function writeReport(dir: string, merged: FleetResults): string[] {
  const written: string[] = [];
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    written.push(join(dir, name));
  };
  write("results.json", `${JSON.stringify(merged, null, 1)}\n`);
  const head = [
    "# Fleet check: real sidecar processes in front of one billing on loopback",
    "",
    "Made by `npm run fleet` (see docs/fleet-check.md for the models and how to read the figures).",
    "",
  ];
  write("results.md", `${head.join("\n")}\n${markdownTable(merged.results)}`);
  for (const pods of [...new Set(merged.results.map((r) => r.pods))]) {
    const overload = overloadChart(merged.results, pods);
    if (overload) write(`overload-drop-${pods}pods.svg`, overload);
    const attempts = attemptsChart(merged.results, pods);
    if (attempts) write(`attempts-vs-failure-${pods}pods.svg`, attempts);
  }
  return written;
}

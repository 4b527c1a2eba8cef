import type { RequestResult } from "./load-client.js";

// Turns the three runs into one small table that makes the difference obvious at a glance.
// Pure functions: the smoke test feeds them fixed numbers.

export interface RunSummary {
  readonly label: string;
  readonly sent: number;
  readonly firstTry: number;
  readonly afterRetries: number;
  readonly failed: number;
  /** Attempts that reached the billing service (its own count). */
  readonly upstreamAttempts: number;
  readonly duplicates: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface DemoReport {
  /** Runs in display order; the last one is the sidecar's. */
  readonly runs: readonly RunSummary[];
  /** retry_sidecar_retries_total by reason, read from the sidecar's /metrics. */
  readonly retriesByReason: Readonly<Record<string, number>>;
  /** retry_sidecar_retries_skipped_total by reason (zeros left out). */
  readonly skippedByReason: Readonly<Record<string, number>>;
}

export function summarize(
  label: string,
  results: readonly RequestResult[],
  billing: { attempts: number; duplicates: number },
): RunSummary {
  const latencies = results.map((r) => r.latencyMs).sort((a, b) => a - b);
  return {
    label,
    sent: results.length,
    firstTry: results.filter((r) => r.ok && r.attempts === 1).length,
    afterRetries: results.filter((r) => r.ok && r.attempts > 1).length,
    failed: results.filter((r) => !r.ok).length,
    upstreamAttempts: billing.attempts,
    duplicates: billing.duplicates,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;
}

/** Sums a counter of a Prometheus text exposition by one label: {reason: value}. */
export function counterByLabel(exposition: string, metric: string, label: string): Record<string, number> {
  const totals: Record<string, number> = {};
  const line = new RegExp(`^${metric}\\{([^}]*)\\}\\s+(\\S+)$`);
  for (const text of exposition.split("\n")) {
    const match = line.exec(text);
    if (!match) continue;
    const value = new RegExp(`(?:^|,)${label}="([^"]*)"`).exec(match[1] ?? "")?.[1];
    if (value !== undefined) totals[value] = (totals[value] ?? 0) + Number(match[2]);
  }
  return totals;
}

export function failureRate(run: RunSummary): number {
  return run.sent === 0 ? 0 : run.failed / run.sent;
}

const pct = (n: number) => `${(n * 100).toFixed(1)}%`;

export function formatReport(report: DemoReport, options: { color: boolean }): string {
  const paint = (code: string) => (text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const [bold, dim, red, green, yellow] = [paint("1"), paint("2"), paint("31"), paint("32"), paint("33")];
  const sidecar = report.runs.at(-1);
  if (sidecar === undefined) return "no runs\n";

  // Each cell: plain text (for widths) plus a colouring applied after padding, so ANSI codes
  // never break the alignment.
  type Cell = { text: string; style?: (s: string) => string };
  // Green: none. Yellow: a few. Red: a real problem (duplicates are always one).
  const bad = (n: number, text = String(n), few = 0): Cell => ({
    text,
    style: n === 0 ? green : n <= few ? yellow : red,
  });
  const rows: [string, (run: RunSummary) => Cell][] = [
    ["requests sent", (r) => ({ text: String(r.sent) })],
    ["ok at the first attempt", (r) => ({ text: String(r.firstTry) })],
    ["ok after retries", (r) => ({ text: String(r.afterRetries) })],
    ["failed", (r) => bad(r.failed, `${r.failed} (${pct(failureRate(r))})`, r.sent / 100)],
    ["upstream attempts", (r) => ({ text: String(r.upstreamAttempts) })],
    ["duplicate providers", (r) => bad(r.duplicates)],
    ["latency p50 / p99", (r) => ({ text: `${Math.round(r.p50Ms)} / ${Math.round(r.p99Ms)} ms` })],
  ];
  const grid = rows.map(([name, cell]) => [{ text: name } as Cell, ...report.runs.map(cell)]);
  const header: Cell[] = [{ text: "" }, ...report.runs.map((r) => ({ text: r.label, style: bold }))];
  const all = [header, ...grid];
  const widths = header.map((_, col) => Math.max(...all.map((row) => row[col]?.text.length ?? 0)));
  const render = (row: Cell[]) =>
    `  ${row
      .map((cell, col) => {
        const width = widths[col] ?? 0;
        const padded = col === 0 ? cell.text.padEnd(width) : cell.text.padStart(width);
        return cell.style ? cell.style(padded) : padded;
      })
      .join("   ")}`.trimEnd();

  const list = (counts: Readonly<Record<string, number>>) =>
    Object.entries(counts)
      .filter(([, n]) => n > 0)
      .sort(([, a], [, b]) => b - a)
      .map(([reason, n]) => `${reason} ×${n}`)
      .join(", ") || "none";

  const direct = report.runs[0] ?? sidecar;
  const middle = report.runs
    .slice(1, -1)
    .map(
      (r) =>
        `  ${dim(`(${r.label} by itself: ${pct(failureRate(r))} failed, and ${r.duplicates} duplicate providers created)`)}`,
    );
  const lines = [
    render(header),
    ...grid.map(render),
    "",
    `  sidecar retries by reason (retry_sidecar_retries_total): ${list(report.retriesByReason)}`,
    `  sidecar retries skipped (retry_sidecar_retries_skipped_total): ${list(report.skippedByReason)}`,
    "",
    `  ${bold("Without the sidecar")} ${red(pct(failureRate(direct)))} of requests failed; ` +
      `${bold("with it")} ${green(pct(failureRate(sidecar)))}, ` +
      `with ${sidecar.duplicates === 0 ? green("0") : red(String(sidecar.duplicates))} duplicate providers.`,
    ...middle,
  ];
  return `${lines.join("\n")}\n`;
}

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

/** One run of the sick-instance part: the figures of RunSummary, plus the sick instance's share. */
export interface EndpointsRun extends RunSummary {
  /** Attempts that reached the sick instance. */
  readonly sickAttempts: number;
}

export interface EndpointsPart {
  /** How billing is reached, e.g. "three addresses ... (a headless Service)". */
  readonly title: string;
  /** The app's own retries first, then the sidecar. */
  readonly runs: readonly EndpointsRun[];
  /** The sidecar's first ejection of the sick endpoint; undefined when none happened. */
  readonly ejection:
    | {
        /** From the first request through the sidecar to the "endpoint ejected" log line. */
        readonly afterMs: number;
        /** Attempts the sick instance had got by then. */
        readonly sickAttempts: number;
      }
    | undefined;
}

/** The table of one case of the sick-instance part, and what the sidecar's ejection did. */
export function formatEndpointsPart(part: EndpointsPart, options: { color: boolean }): string {
  const paint = (code: string) => (text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const [bold, red, green, yellow] = [paint("1"), paint("31"), paint("32"), paint("33")];
  const rows: [string, (run: EndpointsRun) => string][] = [
    ["requests sent", (r) => String(r.sent)],
    ["ok at the first attempt", (r) => String(r.firstTry)],
    ["ok after retries", (r) => String(r.afterRetries)],
    ["failed", (r) => `${r.failed} (${pct(failureRate(r))})`],
    ["upstream attempts", (r) => String(r.upstreamAttempts)],
    ["attempts on the sick one", (r) => String(r.sickAttempts)],
    ["latency p50 / p99", (r) => `${Math.round(r.p50Ms)} / ${Math.round(r.p99Ms)} ms`],
  ];
  const header = ["", ...part.runs.map((r) => r.label)];
  const grid = rows.map(([name, cell]) => [name, ...part.runs.map(cell)]);
  const widths = header.map((_, col) => Math.max(...[header, ...grid].map((row) => row[col]?.length ?? 0)));
  const render = (row: string[], style: (text: string, col: number) => string) =>
    `  ${row
      .map((text, col) => {
        const width = widths[col] ?? 0;
        return style(col === 0 ? text.padEnd(width) : text.padStart(width), col);
      })
      .join("   ")}`.trimEnd();
  const failedRow = rows.findIndex(([name]) => name === "failed");
  const lines = [
    `  ${bold(part.title)}`,
    render(header, (text, col) => (col === 0 ? text : bold(text))),
    ...grid.map((row, index) =>
      render(row, (text, col) => {
        const run = part.runs[col - 1];
        if (index !== failedRow || run === undefined) return text;
        return run.failed === 0 ? green(text) : red(text);
      }),
    ),
  ];
  const sidecar = part.runs.at(-1);
  if (part.ejection !== undefined) {
    lines.push(
      `  The sidecar ejected the sick endpoint ${yellow(`${Math.round(part.ejection.afterMs)} ms`)} after its first request, ` +
        `when it had got ${part.ejection.sickAttempts} attempts; it got ${sidecar?.sickAttempts ?? 0} in all.`,
    );
  } else {
    lines.push(
      "  One address is one endpoint, never ejected. Each retry goes on a newly opened connection, which the\n" +
        "  balancer hands to an instance anew: a healthy one two times in three.",
    );
  }
  return `${lines.join("\n")}\n`;
}

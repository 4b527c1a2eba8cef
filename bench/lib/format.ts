import type { FigureName, RowResult } from "./results.js";
import type { Summary } from "./stats.js";

export const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "—");
export const fixed = (digits: number) => (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : "—");
export const ms = (us: number) => fixed(2)(us / 1000);
export const signedMs = (us: number) =>
  Number.isFinite(us) ? `${us >= 0 ? "+" : ""}${(us / 1000).toFixed(2)}` : "—";

/** The judged round's value (best for CPU and throughput, largest for memory), the median beside. */
export function spread(s: Summary, format: (v: number) => string): string {
  if (!Number.isFinite(s.judged)) return "—";
  if (s.values.filter(Number.isFinite).length < 2) return format(s.judged);
  return `${format(s.judged)} <sub>median ${format(s.median)}</sub>`;
}

export function fig(row: RowResult, name: FigureName): Summary {
  return row.summary[name];
}

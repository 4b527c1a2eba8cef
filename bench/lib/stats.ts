/** Median of the finite values (the mean of the middle two for an even count); NaN when none. */
export function median(values: readonly number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Smallest and largest finite value: the spread across rounds. */
export function range(values: readonly number[]): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [Number.NaN, Number.NaN];
  return [Math.min(...finite), Math.max(...finite)];
}

/** A summary of one figure over the rounds. */
export interface Summary {
  /** The round that judges the row: the smallest or the largest value (results.ts JUDGED_BY). */
  judged: number;
  median: number;
  min: number;
  max: number;
  values: number[];
}

export function summarize(values: readonly number[], judgedBy: "min" | "max" = "min"): Summary {
  const [min, max] = range(values);
  return { judged: judgedBy === "min" ? min : max, median: median(values), min, max, values: [...values] };
}

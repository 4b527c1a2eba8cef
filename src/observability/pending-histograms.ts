import type { Histogram } from "prom-client";

/** prom-client's own record of one histogram series (lib/histogram.js `createBaseValues`). */
interface SeriesRecord {
  readonly bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/** The part of prom-client's Histogram this file relies on beyond its typings. */
interface HistogramInternals {
  readonly upperBounds: readonly number[];
  readonly hashMap: Record<string, SeriesRecord | undefined>;
}

/**
 * One series of a per-request histogram, observed without prom-client's `observe()`, which per
 * call builds a label/value pair, validates the labels, hashes them into a string and looks the
 * bucket up by a number-to-string property key (≈ 250 B and a few hundred ns per call, twice per
 * request). The sum and count go straight into prom-client's record of the series, in the same
 * order of additions as its `observe()` makes them (so `_sum` is the same float); the bucket
 * counts wait in a plain array until a scrape (the histogram's `collect`), like pending-counts.ts.
 * A scrape shows every observation made before it, the same values as `observe()` would.
 */
export class PendingHistogramSeries {
  private readonly pending: number[];

  constructor(
    private readonly record: SeriesRecord,
    private readonly bounds: readonly number[],
  ) {
    this.pending = bounds.map(() => 0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const record = this.record;
    record.sum += value;
    record.count += 1;
    // The first bucket whose upper bound holds it (prom-client's findBound); above the last
    // bound only +Inf (the count) has it.
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        (this.pending[i] as number)++;
        return;
      }
    }
  }

  flush(): void {
    const { pending, bounds, record } = this;
    for (let i = 0; i < pending.length; i++) {
      const n = pending[i] as number;
      if (n === 0) continue;
      record.bucketValues[bounds[i] as number] = (record.bucketValues[bounds[i] as number] ?? 0) + n;
      pending[i] = 0;
    }
  }
}

/** The pending series of one histogram; `flush` is its `collect`. */
export class PendingHistograms<L extends string> {
  private readonly series: PendingHistogramSeries[] = [];

  constructor(private readonly histogram: Histogram<L>) {}

  /** The series of these label values, made at zero in prom-client (its public `zero`). */
  of(labels: Record<L, string>): PendingHistogramSeries {
    this.histogram.zero(labels);
    const internals = this.histogram as unknown as HistogramInternals;
    // zero() keeps the labels object it was given: the record is found by it.
    const record = Object.values(internals.hashMap).find(
      (r) => (r as { labels?: unknown })?.labels === labels,
    );
    if (record === undefined) throw new Error("prom-client's histogram kept no record of the series");
    const cell = new PendingHistogramSeries(record, internals.upperBounds);
    this.series.push(cell);
    return cell;
  }

  flush(): void {
    for (const cell of this.series) cell.flush();
  }
}

import {
  type BenchResults,
  type FigureName,
  JUDGED_BY,
  type RoundFigures,
  type RowId,
  type RowResult,
} from "../../../bench/lib/results.js";
import { summarize } from "../../../bench/lib/stats.js";

// Figures of one round, one row and one run, as the bench stores them, for the report tests.

export const round = (over: Partial<RoundFigures> = {}): RoundFigures => ({
  satRps: 30_000,
  satP50Us: 950,
  satP99Us: 3650,
  satErrors: 0,
  satCpuUs: 31.8,
  peakRssMb: 108.6,
  cgroupPeakMb: 133.5,
  limitHits: 0,
  satWorkingSetMb: 75.4,
  satAnonMb: 51.8,
  satActiveFileMb: 21.1,
  satInactiveFileMb: 57.8,
  oomKills: 0,
  rateCpuUs: 75.2,
  rateP50Us: 400,
  rateP99Us: 900,
  rateAchieved: 1007,
  rateErrors: 0,
  rateWorkingSetMb: 75.7,
  addedP50Us: 100,
  addedP99Us: 630,
  ...over,
});

/** A row of `rounds`, summarised as the bench does (each figure judged by its own rule). */
export function row(
  id: RowId,
  label: string,
  rounds: RoundFigures[],
  over: Partial<RowResult> = {},
): RowResult {
  const names = Object.keys(JUDGED_BY) as FigureName[];
  const summary = Object.fromEntries(
    names.map((n) => [
      n,
      summarize(
        rounds.map((r) => r[n]),
        JUDGED_BY[n],
      ),
    ]),
  ) as RowResult["summary"];
  return { id, label, rounds, summary, ...over };
}

/** A run of two rounds of 5 s at saturation and 8 s at 1,000 req/s, with no rows unless given. */
export function benchResults(over: Partial<BenchResults> = {}): BenchResults {
  return {
    meta: {
      date: "2026-12-05T18:34:37.123Z",
      command: "npm run bench",
      commit: "abc1234",
      node: "20.20.2",
      cpus: 2,
      pinning: "proxy on CPU 0",
      rounds: 2,
      connections: 32,
      satSeconds: 5,
      rate: 1000,
      rateSeconds: 8,
      quick: false,
    },
    rows: [],
    goals: [],
    outage: [],
    flaky: [],
    notes: [],
    ...over,
  };
}

import type { RequestRecord } from "./load.js";

// The figures of the fleet scenarios (the simulator's definitions), from what the clients saw and
// what billing counted. Pure arithmetic, tested on its own.

/** Share of the requests that got a 2xx within the app's timeout. */
export function successShare(records: readonly RequestRecord[]): number {
  if (records.length === 0) return Number.NaN;
  return records.filter((r) => r.ok).length / records.length;
}

/** Goodput per second: 2xx answered in time, counted in the second they were answered. */
export function goodputPerSecond(records: readonly RequestRecord[], seconds: number): number[] {
  const series = Array.from({ length: Math.ceil(seconds) }, () => 0);
  for (const r of records) {
    const second = Math.floor(r.endS);
    if (r.ok && second >= 0 && second < series.length) series[second] = (series[second] ?? 0) + 1;
  }
  return series;
}

/** Requests sent in each second of the run (the offered load). */
export function offeredPerSecond(records: readonly RequestRecord[], seconds: number): number[] {
  const series = Array.from({ length: Math.ceil(seconds) }, () => 0);
  for (const r of records) {
    const second = Math.floor(r.sentS);
    if (second >= 0 && second < series.length) series[second] = (series[second] ?? 0) + 1;
  }
  return series;
}

/**
 * For each 1-s bucket of the requests' send times, the share answered in time (undefined for a
 * bucket without requests).
 */
export function inTimeShareBySecond(
  records: readonly RequestRecord[],
  seconds: number,
): (number | undefined)[] {
  const sent = offeredPerSecond(records, seconds);
  const ok = Array.from({ length: sent.length }, () => 0);
  for (const r of records) {
    const second = Math.floor(r.sentS);
    if (r.ok && second >= 0 && second < ok.length) ok[second] = (ok[second] ?? 0) + 1;
  }
  return sent.map((n, i) => (n === 0 ? undefined : (ok[i] ?? 0) / n));
}

/**
 * Seconds from the end of the trigger until every later 1-s bucket has >= 90% of its requests
 * answered in time; 0 when the first bucket after the trigger already has; null ("never") when
 * the last bucket of the run still has not.
 */
export function recoveryTime(shares: readonly (number | undefined)[], triggerEndS: number): number | null {
  let recoveredFrom: number | null = null;
  for (let second = Math.ceil(triggerEndS); second < shares.length; second++) {
    const share = shares[second];
    if (share === undefined) continue;
    if (share < 0.9) recoveredFrom = null;
    else recoveredFrom ??= second;
  }
  return recoveredFrom === null ? null : recoveredFrom - triggerEndS;
}

/**
 * Goodput during the trigger as a share of the load offered during it: of the requests sent
 * within the window, the share answered in time (the simulator's definition; billing at a fifth
 * of its capacity could serve ~29% of them).
 */
export function triggerGoodputShare(records: readonly RequestRecord[], fromS: number, toS: number): number {
  const sent = records.filter((r) => r.sentS >= fromS && r.sentS < toS);
  return sent.length === 0 ? Number.NaN : sent.filter((r) => r.ok).length / sent.length;
}

/** Requests sent within a window (the outage's attempts per request are counted over it). */
export function sentWithin(records: readonly RequestRecord[], fromS: number, toS: number): number {
  return records.filter((r) => r.sentS >= fromS && r.sentS < toS).length;
}

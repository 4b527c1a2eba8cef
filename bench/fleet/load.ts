import { mulberry32 } from "../../demo/flaky-billing.js";
import type { App } from "./app-client.js";

// Open-loop clients: each pod's app sends at Poisson arrival times, whatever the answers do (a
// slow upstream does not slow the arrivals, as with real users). Bounded in count and in time.

export interface RequestRecord {
  pod: number;
  /** Seconds from the start of the load to when the request was sent, and to when it ended. */
  sentS: number;
  endS: number;
  /** A 2xx within the app's timeout. */
  ok: boolean;
}

/** Arrival times (seconds, ascending) of a Poisson process of `rate`/s over `seconds`, seeded. */
export function poissonArrivals(rate: number, seconds: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const times: number[] = [];
  const cap = Math.ceil(rate * seconds * 3) + 100;
  let t = 0;
  while (times.length < cap) {
    t += -Math.log(1 - rand()) / rate;
    if (t >= seconds) break;
    times.push(t);
  }
  return times;
}

export interface LoadOptions {
  apps: readonly App[];
  ratePerPod: number;
  seconds: number;
  seed: number;
  appTimeoutMs: number;
  /** performance.now() at the start of the load. */
  t0: number;
  /** Called at these seconds after the start (e.g. to read counters at a window's edges). */
  marks?: { atS: number; run: () => void }[];
}

export async function runLoad(options: LoadOptions): Promise<RequestRecord[]> {
  const schedule = options.apps
    .flatMap((_, pod) =>
      poissonArrivals(options.ratePerPod, options.seconds, options.seed * 1000 + pod).map((at) => ({
        at,
        pod,
      })),
    )
    .sort((a, b) => a.at - b.at);
  const records: RequestRecord[] = [];
  const pending: Promise<void>[] = [];
  const marks = [...(options.marks ?? [])].sort((a, b) => a.atS - b.atS);
  const now = () => (performance.now() - options.t0) / 1000;

  let next = 0;
  let count = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const t = now();
      while (marks.length > 0 && (marks[0]?.atS ?? 0) <= t) marks.shift()?.run();
      while (next < schedule.length && (schedule[next]?.at ?? 0) <= t) {
        const { pod } = schedule[next++] as { pod: number };
        const sentS = now();
        const app = options.apps[pod] as App;
        pending.push(
          app.call(`pod${pod}-req${count++}`).then(({ status }) => {
            const endS = now();
            const inTime = (endS - sentS) * 1000 <= options.appTimeoutMs;
            records.push({
              pod,
              sentS,
              endS,
              ok: status !== undefined && status >= 200 && status < 300 && inTime,
            });
          }),
        );
      }
      if (next >= schedule.length && marks.length === 0) return done();
      const wake = Math.min(
        schedule[next]?.at ?? Number.POSITIVE_INFINITY,
        marks[0]?.atS ?? Number.POSITIVE_INFINITY,
      );
      setTimeout(tick, Math.max(0, (wake - now()) * 1000));
    };
    tick();
  });
  // Every request ends within the app's timeout; wait for the last ones.
  await Promise.all(pending);
  return records.sort((a, b) => a.sentS - b.sentS);
}

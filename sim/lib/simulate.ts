import type { SkipReason } from "../../src/retry/outcome.js";
import { exponentialMs, seededRandom } from "./random.js";
import { DEFAULT_SETTINGS, type Scenario } from "./scenarios.js";
import type { Variant } from "./variants.js";
import { VirtualTime } from "./virtual-time.js";

/** The figures of one (scenario, variant, pod count) run. */
export interface RunResult {
  readonly scenario: string;
  readonly variant: string;
  readonly pods: number;
  readonly requests: number;
  /** Upstream attempts per client request (over the scenario's window when it has one). */
  readonly attemptsPerRequest: number;
  /** Share of client requests answered 2xx within the app's timeout. */
  readonly success: number;
  /** 2xx answered in time, per 1-s bucket of completion. */
  readonly goodput: readonly number[];
  /** Seconds from the trigger's end until every later 1-s bucket has >= 90% answered in time. */
  readonly recoveryS: number | undefined;
  /** Requests arriving during the trigger answered in time, as a share of them. */
  readonly duringTrigger: number | undefined;
  readonly skipped: Readonly<Partial<Record<SkipReason, number>>>;
}

/**
 * One run: `pods` pods, each with its own Poisson arrivals (total rate / pods) and its own
 * policies as `variant` builds them, against the scenario's upstream, in virtual time.
 */
export async function simulate(
  scenario: Scenario,
  variant: Variant,
  pods: number,
  seed: number,
): Promise<RunResult> {
  const time = new VirtualTime();
  const perPod = scenario.totalRate / pods;
  const warmupMs = (scenario.warmupPerPod / perPod) * 1000;
  const now = () => time.clock() - warmupMs;
  const settings = { ...DEFAULT_SETTINGS, ...scenario.settings };
  const upstream = scenario.upstream(time, now, seededRandom(seed ^ 0x5bd1e995));
  const endMs = scenario.durationS * 1000;
  const seconds = scenario.durationS;
  const arrivals = new Array<number>(seconds).fill(0);
  const goodByArrival = new Array<number>(seconds).fill(0);
  const goodput = new Array<number>(seconds).fill(0);
  const skipped: Partial<Record<SkipReason, number>> = {};
  let windowAttempts = 0;
  const [windowFrom, windowTo] = scenario.window ?? [0, scenario.durationS];
  const inWindow = (t: number) => t >= windowFrom * 1000 && t < windowTo * 1000;

  for (let pod = 0; pod < pods; pod++) {
    const random = seededRandom(seed * 7919 + pod * 104_729 + 1);
    const caller = variant.pod({
      pod,
      time,
      random,
      upstream,
      settings,
      appTimeoutMs: scenario.appTimeoutMs,
      attemptSent: () => {
        if (inWindow(now())) windowAttempts += 1;
      },
      skipped: (reason) => {
        if (now() >= 0) skipped[reason] = (skipped[reason] ?? 0) + 1;
      },
    });
    const arrivalRandom = seededRandom(seed * 31 + pod * 15_485_863 + 2);
    const arrive = (): void => {
      const startedAt = now();
      if (startedAt >= endMs) return;
      const second = Math.floor(startedAt / 1000);
      if (second >= 0) arrivals[second] = (arrivals[second] ?? 0) + 1;
      const controller = new AbortController();
      const cancel = time.after(scenario.appTimeoutMs, () => controller.abort());
      void caller.call(controller.signal).then(({ status }) => {
        cancel();
        const at = now();
        const good = status >= 200 && status < 300 && at - startedAt <= scenario.appTimeoutMs;
        if (!good || second < 0) return;
        goodByArrival[second] = (goodByArrival[second] ?? 0) + 1;
        const done = Math.floor(at / 1000);
        if (done < seconds) goodput[done] = (goodput[done] ?? 0) + 1;
      });
      time.after(exponentialMs(perPod, arrivalRandom), arrive);
    };
    time.after(exponentialMs(perPod, arrivalRandom), arrive);
  }
  // The last requests get the app's timeout to finish.
  await time.run(warmupMs + endMs + scenario.appTimeoutMs + 1000);

  const sum = (xs: readonly number[], from = 0, to = xs.length) =>
    xs.slice(from, to).reduce((a, b) => a + b, 0);
  const requests = sum(arrivals);
  const windowRequests = sum(arrivals, windowFrom, windowTo);
  let recoveryS: number | undefined;
  let duringTrigger: number | undefined;
  if (scenario.trigger !== undefined) {
    const [from, to] = scenario.trigger;
    duringTrigger = sum(goodByArrival, from, to) / Math.max(1, sum(arrivals, from, to));
    let last = to - 1;
    for (let s = to; s < seconds; s++) {
      if ((goodByArrival[s] ?? 0) < 0.9 * (arrivals[s] ?? 0)) last = s;
    }
    recoveryS = last + 1 - to;
    if (last === seconds - 1) recoveryS = Number.POSITIVE_INFINITY;
  }
  return {
    scenario: scenario.name,
    variant: variant.name,
    pods,
    requests,
    attemptsPerRequest: windowAttempts / Math.max(1, windowRequests),
    success: sum(goodByArrival) / Math.max(1, requests),
    goodput,
    recoveryS,
    duringTrigger,
    skipped,
  };
}

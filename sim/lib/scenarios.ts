import { loadConfig } from "../../src/config/load-config.js";
import type { SidecarSettings } from "./pod.js";
import { flakyUpstream, queueUpstream, sickInstances, type Upstream } from "./upstreams.js";
import type { VirtualTime } from "./virtual-time.js";

/** The defaults of docs/contract.md "Configuration" (the sidecar's own, RETRY_THROTTLE_* included). */
// The sidecar's own defaults, read from its settings table, so the simulator can never drift from
// what ships (a changed default changes every simulated run with it).
const defaults = loadConfig({});
export const DEFAULT_SETTINGS: SidecarSettings = {
  maxRetries: defaults.maxRetries,
  perTryTimeoutMs: defaults.perTryTimeoutMs,
  requestTimeoutMs: defaults.requestTimeoutMs,
  backoffBaseMs: defaults.backoffBaseMs,
  backoffMaxMs: defaults.backoffMaxMs,
  backoffJitter: defaults.backoffJitter,
  retryBudgetRatio: defaults.retryBudgetRatio,
  retryBudgetMinPerSec: defaults.retryBudgetMinPerSec,
  circuitFailureThreshold: defaults.circuitFailureThreshold,
  circuitOpenMs: defaults.circuitOpenMs,
  endpointEjectAfter: defaults.endpointEjectAfter,
  endpointEjectMs: defaults.endpointEjectMs,
  retryThrottleTokens: defaults.retryThrottleTokens,
  retryThrottleRatio: defaults.retryThrottleRatio,
  retryThrottleProbeRatio: defaults.retryThrottleProbeRatio,
  overloadLateRatio: defaults.overloadLateRatio,
  overloadDecrease: defaults.overloadDecrease,
  overloadRecoveryMs: defaults.overloadRecoveryMs,
  overloadMinLimit: defaults.overloadMinLimit,
  overloadRetryShare: defaults.overloadRetryShare,
};

/** Builds the upstream of a run; `now` is scenario time in ms (negative during the warm-up). */
type UpstreamFactory = (time: VirtualTime, now: () => number, random: () => number) => Upstream;

export interface Scenario {
  readonly name: string;
  /** Client requests per second, all pods together (per pod: total / pods). */
  readonly totalRate: number;
  readonly durationS: number;
  readonly appTimeoutMs: number;
  readonly settings?: Partial<SidecarSettings>;
  /**
   * Requests each pod makes before the measured run, under the same conditions as at t = 0: a
   * failure rate that is a steady condition has lasted long enough for every pod to have seen it,
   * whatever the pod count (without it, 1,000 pods at 0.02 req/s would each see one request).
   */
  readonly warmupPerPod: number;
  /** The window (s) over which attempts per request are measured; the whole run when absent. */
  readonly window?: readonly [number, number];
  /** The trigger (s), for recovery time and goodput during it. */
  readonly trigger?: readonly [number, number];
  readonly upstream: UpstreamFactory;
}

/**
 * The timeouts an operator sets for a 50-ms call (overload-drop, and the scenarios that check it
 * sheds nothing it should not): per-try 1 s, deadline 4.5 s, the app giving up after 5 s.
 */
const FAST_CALL = {
  appTimeoutMs: 5000,
  settings: { perTryTimeoutMs: 1000, requestTimeoutMs: 4500 },
} as const;

function random(p: number): Scenario {
  return {
    name: `random-${Math.round(p * 100)}`,
    totalRate: 20,
    durationS: 60,
    appTimeoutMs: 30_000,
    warmupPerPod: 10,
    upstream: (time, now, rnd) => flakyUpstream(time, now, rnd, () => p),
  };
}

export const scenarios: readonly Scenario[] = [
  random(0.05),
  random(0.3),
  random(0.5),
  random(0.8),
  random(1),
  {
    name: "outage-60",
    totalRate: 20,
    durationS: 90,
    appTimeoutMs: 30_000,
    warmupPerPod: 10,
    window: [10, 70],
    trigger: [10, 70],
    upstream: (time, now, rnd) =>
      flakyUpstream(
        time,
        now,
        rnd,
        () => 0,
        (t) => t >= 10_000 && t < 70_000,
      ),
  },
  {
    name: "sick-clusterip",
    totalRate: 20,
    durationS: 60,
    appTimeoutMs: 30_000,
    warmupPerPod: 10,
    upstream: (time) => sickInstances(time, "clusterip"),
  },
  {
    name: "sick-headless",
    totalRate: 20,
    durationS: 60,
    appTimeoutMs: 30_000,
    warmupPerPod: 10,
    upstream: (time) => sickInstances(time, "headless"),
  },
  hung("hung-clusterip", "clusterip"),
  hung("hung-headless", "headless"),
  {
    name: "overload-drop",
    totalRate: 56,
    durationS: 70,
    ...FAST_CALL,
    warmupPerPod: 10,
    trigger: [20, 30],
    upstream: (time, now) => queueUpstream(time, now, 8, (t) => (t >= 20_000 && t < 30_000 ? 500 : 100)),
  },
  // Healthy but slow upstreams, with the settings of overload-drop (late = after 600 ms): overload
  // protection must shed nothing (success 100%). Workers enough that nothing queues.
  healthy("healthy-slow", () => 300),
  healthy("healthy-jitter", (rnd) => 20 + 380 * rnd()),
];

function healthy(name: string, latencyMs: (random: () => number) => number): Scenario {
  return {
    name,
    totalRate: 56,
    durationS: 60,
    ...FAST_CALL,
    warmupPerPod: 10,
    upstream: (time, now, rnd) => queueUpstream(time, now, 10_000, () => latencyMs(rnd)),
  };
}

// One instance of three hung (no answer at all), with the settings of overload-drop: a timeout that
// a retry elsewhere cures, where overload protection must not take the late attempts for a queue.
function hung(name: string, mode: "clusterip" | "headless"): Scenario {
  return {
    name,
    totalRate: 20,
    durationS: 60,
    ...FAST_CALL,
    warmupPerPod: 10,
    upstream: (time) => sickInstances(time, mode, 1, true),
  };
}

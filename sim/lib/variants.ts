import type { ConcurrencyLimit, LimitOptions } from "../../src/overload/concurrency-limit.js";
import { OverloadProtection } from "../../src/overload/overload-protection.js";
import { TokenRetryThrottle } from "../../src/retry/retry-throttle.js";
import { GrpcThrottle, SreAdaptiveGate } from "./comparators.js";
import { InTimeRatioLimit, InTimeRatioProtection, ProbabilityBelowOne } from "./overload-candidates.js";
import { directPod, type PodCaller, type PodEnv, sidecarPod } from "./pod.js";
import { queueAtTheDoor, sheddingUpstream, type Upstream } from "./upstreams.js";

/**
 * One row of the comparison: how a pod reaches the upstream. `pod` is called once per pod and
 * builds that pod's own policies (nothing is shared between pods, as nothing is shared between
 * sidecar processes). A new policy is a new Variant: usually `sidecarPod(env, { throttle, gate })`
 * with its own throttle (asked before every retry) or gate (asked before every attempt).
 */
export interface Variant {
  readonly name: string;
  /** One line for the table's legend. */
  readonly about: string;
  /** Run only when named with --variant (the alternatives a default was chosen against). */
  readonly extra?: boolean;
  pod(env: PodEnv): PodCaller;
}

/** The retry throttle with the scenario's settings (RETRY_THROTTLE_*). */
const throttle = (env: PodEnv) =>
  new TokenRetryThrottle({
    tokens: env.settings.retryThrottleTokens,
    ratio: env.settings.retryThrottleRatio,
    probeRatio: env.settings.retryThrottleProbeRatio,
  });

/** Overload protection with the scenario's settings (OVERLOAD_*), `change` applied on top. */
const overloadOptions = (env: PodEnv) => ({
  enabled: true,
  lateMs: env.settings.overloadLateRatio * env.settings.perTryTimeoutMs,
  perTryTimeoutMs: env.settings.perTryTimeoutMs,
  decrease: env.settings.overloadDecrease,
  recoveryMs: env.settings.overloadRecoveryMs,
  minLimit: env.settings.overloadMinLimit,
  maxLimit: 1000,
  retryShare: env.settings.overloadRetryShare,
});
const limitOptions = (env: PodEnv): LimitOptions => overloadOptions(env);
const overload = (
  env: PodEnv,
  change: { decrease?: number; recoveryMs?: number; minLimit?: number; blindRetries?: boolean } = {},
  limit?: ConcurrencyLimit,
) => new OverloadProtection({ ...overloadOptions(env), ...change }, env.time.clock, limit);
/** The same with the limit below one as a probability of sending (the rule before). */
const probability = (env: PodEnv) =>
  new ProbabilityBelowOne(overloadOptions(env), env.time.clock, env.random);

/**
 * The sidecar with its defaults in front of `upstream` (billing as the scenario has it, or billing
 * with its own shedding), with the breaker's `CIRCUIT_FAILURE_THRESHOLD` if given.
 */
const sidecarIn = (
  env: PodEnv,
  upstream: Upstream,
  circuitFailureThreshold = env.settings.circuitFailureThreshold,
) =>
  sidecarPod(
    { ...env, upstream, settings: { ...env.settings, circuitFailureThreshold } },
    { throttle: throttle(env), overload: overload(env) },
  );

export const variants: readonly Variant[] = [
  {
    name: "no-retries",
    about: "the app calls billing directly, one attempt",
    pod: (env) => directPod(env, 0, env.appTimeoutMs),
  },
  {
    name: "naive-3x",
    about: "the app's own loop: 3 immediate retries on 5xx, timeout or connection error",
    pod: (env) => directPod(env, 3, env.settings.perTryTimeoutMs),
  },
  {
    name: "sidecar-before",
    about:
      "the sidecar with RETRY_THROTTLE=off and OVERLOAD_PROTECTION=off (budget 20% + 10/s, breaker at 10 failures)",
    pod: (env) => sidecarPod(env),
  },
  {
    name: "grpc-throttle",
    about: "the sidecar with gRPC's retry throttling instead (maxTokens 10, tokenRatio 0.1)",
    pod: (env) => sidecarPod(env, { throttle: new GrpcThrottle(10, 0.1) }),
  },
  {
    name: "sre-adaptive",
    about: "the sidecar (throttle off) behind the SRE book's adaptive throttling, K=2, 2-min window",
    pod: (env) => sidecarPod(env, { gate: new SreAdaptiveGate(env.time.clock, env.random) }),
  },
  {
    name: "sidecar",
    about: "the sidecar with its defaults (RETRY_THROTTLE=on, OVERLOAD_PROTECTION=on)",
    pod: (env) => sidecarPod(env, { throttle: throttle(env), overload: overload(env) }),
  },
  // What reaches further than any per-pod policy at 1,000 pods (docs/overload.md, the bound).
  {
    name: "billing-sheds",
    about:
      "the sidecar with its defaults, billing answering 503 + Retry-After: 1 instead of queueing an attempt that would wait over 500 ms",
    extra: true,
    pod: (env) => sidecarIn(env, sheddingUpstream(env.upstream, env.time, 500, 1)),
  },
  // The same with the circuit breaker opening after 30 retryable outcomes in a row instead of 10:
  // billing's fast 503s during the drop no longer open a pod's circuit past its end (20 still did
  // in 3 runs of 24 at 10 and 30 pods, seeds 1-3, once an open circuit held for its whole period).
  {
    name: "billing-sheds-breaker-30",
    about: "billing-sheds, the sidecar with CIRCUIT_FAILURE_THRESHOLD=30",
    extra: true,
    pod: (env) => sidecarIn(env, sheddingUpstream(env.upstream, env.time, 500, 1), 30),
  },
  // The same signal with billing unchanged: HAProxy at its door (bench/fleet/door-haproxy.ts), as
  // an operator can set up today. Only a queueing billing gets a door; the others stay as they are.
  {
    name: "haproxy-sheds-breaker-30",
    about:
      "the sidecar with CIRCUIT_FAILURE_THRESHOLD=30; HAProxy at billing's door: maxconn = billing's workers, timeout queue 500 ms, 503 + Retry-After: 1",
    extra: true,
    pod: (env) =>
      sidecarIn(
        env,
        // maxconn: billing's workers, as the real door's (8 in overload-drop).
        env.upstream.workers === undefined
          ? env.upstream
          : queueAtTheDoor(env.upstream, env.time, env.upstream.workers, 500, 1),
        30,
      ),
  },
  // What a pod gives up to keep 1,000 pods from the collapse (docs/overload.md, the bound).
  {
    name: "sidecar-no-blind-retries",
    about:
      "the sidecar with OVERLOAD_BLIND_RETRIES=off: a timeout retried only if another attempt was answered in time while it was out",
    extra: true,
    pod: (env) =>
      sidecarPod(env, {
        throttle: throttle(env),
        overload: overload(env, { blindRetries: false }),
      }),
  },
  // The alternatives overload protection's defaults were chosen against (docs/overload.md).
  {
    name: "sidecar-no-overload",
    about: "the sidecar with RETRY_THROTTLE=on, OVERLOAD_PROTECTION=off",
    extra: true,
    pod: (env) => sidecarPod(env, { throttle: throttle(env) }),
  },
  {
    name: "overload-only",
    about: "the sidecar with OVERLOAD_PROTECTION=on, RETRY_THROTTLE=off",
    extra: true,
    pod: (env) => sidecarPod(env, { overload: overload(env) }),
  },
  {
    name: "overload-probability",
    about:
      "the sidecar, overload protection admitting below one attempt with the limit as the probability of sending (the rule before)",
    extra: true,
    pod: (env) => sidecarPod(env, { throttle: throttle(env), overload: probability(env) }),
  },
  {
    name: "overload-floor-1",
    about: "the sidecar, overload protection whose limit never falls below one attempt in flight",
    extra: true,
    pod: (env) => sidecarPod(env, { throttle: throttle(env), overload: overload(env, { minLimit: 1 }) }),
  },
  {
    name: "overload-gentle",
    about: "the sidecar, overload protection halving its limit per late round trip, doubling each second",
    extra: true,
    pod: (env) =>
      sidecarPod(env, {
        throttle: throttle(env),
        overload: overload(env, { decrease: 0.5, recoveryMs: 1000 }),
      }),
  },
  {
    name: "overload-slow-regrowth",
    about: "the sidecar, overload protection whose limit doubles every 3 s without late answers",
    extra: true,
    pod: (env) => sidecarPod(env, { throttle: throttle(env), overload: overload(env, { recoveryMs: 3000 }) }),
  },
  {
    name: "overload-in-time-ratio",
    about:
      "the sidecar, overload protection admitting below one attempt by the share answered in time (SRE throttle, k = 1)",
    extra: true,
    pod: (env) => {
      const ratio = { windowMs: 1200, k: 1, fastMs: 350, fastWeight: 1000 };
      const limit = new InTimeRatioLimit(limitOptions(env), ratio);
      const gate = new InTimeRatioProtection(overloadOptions(env), env.time.clock, env.random, limit);
      return sidecarPod(env, { throttle: throttle(env), overload: gate });
    },
  },
];

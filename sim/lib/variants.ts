import { TokenRetryThrottle } from "../../src/retry/retry-throttle.js";
import { GrpcThrottle, SreAdaptiveGate } from "./comparators.js";
import { directPod, type PodCaller, type PodEnv, sidecarPod } from "./pod.js";

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
  pod(env: PodEnv): PodCaller;
}

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
    about: "the sidecar with RETRY_THROTTLE=off (budget 20% + 10/s, breaker at 10 failures)",
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
    about: "the sidecar with its defaults (RETRY_THROTTLE=on)",
    pod: (env) =>
      sidecarPod(env, {
        throttle: new TokenRetryThrottle({
          tokens: env.settings.retryThrottleTokens,
          ratio: env.settings.retryThrottleRatio,
          probeRatio: env.settings.retryThrottleProbeRatio,
        }),
      }),
  },
];

import { decimal, integer, oneOf } from "./parsers.js";

/**
 * The settings of the policies that look past the pod, the fleet-safe retry throttle and overload
 * protection, in the same shape as the rest (settings.ts): variable, default, `--help` line,
 * parser. Their defaults were chosen with the fleet simulator (docs/resilience.md,
 * docs/overload.md).
 */
export const fleetSettings = {
  RETRY_THROTTLE: {
    key: "retryThrottle",
    default: "on",
    help: 'the fleet-safe retry throttle (see "Fleet-safe retries"); off disables it',
    parse: oneOf(["on", "off"]),
  },
  RETRY_THROTTLE_TOKENS: {
    key: "retryThrottleTokens",
    default: "5",
    help: "the throttle's bucket: how many failed attempts in a row (first attempts and retries) engage it",
    parse: decimal(0.001, 1_000_000, "tokens"),
  },
  RETRY_THROTTLE_RATIO: {
    key: "retryThrottleRatio",
    default: "0.7",
    help: "tokens a successful attempt earns back, a failed one costing 1: retries stop while more than ratio / (1 + ratio) of attempts fail (41%)",
    parse: decimal(0, 1000, "a ratio"),
  },
  RETRY_THROTTLE_PROBE_RATIO: {
    key: "retryThrottleProbeRatio",
    default: "0.05",
    help: "while the throttle is engaged, this many retries per request still go, so that it learns when retries help again",
    parse: decimal(0, 1, "a ratio"),
  },
  OVERLOAD_PROTECTION: {
    key: "overloadProtection",
    default: "on",
    help: 'adaptive protection of an overloaded upstream (see "Overload protection"); off disables it',
    parse: oneOf(["on", "off"]),
  },
  // Overload protection's tuning; defaults chosen with the fleet simulator (docs/overload.md).
  OVERLOAD_LATE_RATIO: {
    key: "overloadLateRatio",
    default: "0.6",
    help: "an attempt without response headers after this fraction of PER_TRY_TIMEOUT_MS (or twice the upstream's usual latency, if later, never past PER_TRY_TIMEOUT_MS; until that latency is known, only a per-try timeout) is late, answered or not, known while still in flight: the sign of a queue",
    parse: decimal(0.05, 1, "a fraction"),
  },
  OVERLOAD_DECREASE: {
    key: "overloadDecrease",
    default: "0.05",
    help: "a late answer cuts the limit to this fraction of the attempts in flight, at most once per round trip",
    parse: decimal(0.05, 0.95, "a fraction"),
  },
  OVERLOAD_RECOVERY_MS: {
    key: "overloadRecoveryMs",
    default: "400",
    help: "without late answers the limit doubles every this many ms (on-time answers grow it faster), until it is lifted",
    parse: integer(10, 600_000, "milliseconds"),
  },
  OVERLOAD_MIN_LIMIT: {
    key: "overloadMinLimit",
    default: "0.02",
    help: "the lowest limit on attempts in flight; below 1 one attempt goes at a time, without retries, and the limit regrows to 1 in log2(1 / limit) × OVERLOAD_RECOVERY_MS",
    parse: decimal(0.001, 1, "a number"),
  },
  OVERLOAD_RETRY_SHARE: {
    key: "overloadRetryShare",
    default: "0.5",
    help: "while a limit is in force, a retry goes only while the attempts in flight are under this share of it",
    parse: decimal(0, 1, "a fraction"),
  },
  OVERLOAD_BLIND_RETRIES: {
    key: "overloadBlindRetries",
    default: "on",
    help: "off: a timed-out attempt is retried only if another attempt was answered in time while it was out, else waited for until the deadline (for fleets of hundreds of pods that each call seldom; a hung instance then costs the requests that reach it)",
    parse: oneOf(["on", "off"]),
  },
} as const;

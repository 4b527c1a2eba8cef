import type { Admission, CircuitBreaker } from "./circuit-breaker.js";
import { NO_OVERLOAD, type OverloadGate } from "./overload-gate.js";
import type { RetryBudget } from "./retry-budget.js";
import { NO_THROTTLE, type RetryThrottle } from "./retry-throttle.js";

/** A request overload protection does not send: 503 overloaded, Retry-After 1 s. */
export const OVERLOADED = { admitted: false, retryAfterMs: 1000, overloaded: true } as const;

export type RequestAdmission = Admission | typeof OVERLOADED;

/**
 * A client request's admission, before its first attempt: the route's breaker says whether it may
 * go upstream at all, then overload protection whether it may go now (it then holds a place in
 * flight); one that goes is counted by the retry budget (its ratio) and the throttle (its probes).
 * The proxy and the fleet simulator both call this, so they admit alike.
 */
export function admitRequest(
  breaker: CircuitBreaker,
  budget: RetryBudget,
  throttle: RetryThrottle = NO_THROTTLE,
  overload: OverloadGate = NO_OVERLOAD,
): RequestAdmission {
  const admission = breaker.admit();
  if (!admission.admitted) return admission;
  if (!overload.admitFirst()) {
    if (admission.probe) breaker.releaseProbe();
    return OVERLOADED;
  }
  budget.deposit();
  throttle.request();
  return admission;
}

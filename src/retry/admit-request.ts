import type { Admission, CircuitBreaker } from "./circuit-breaker.js";
import type { RetryBudget } from "./retry-budget.js";
import { NO_THROTTLE, type RetryThrottle } from "./retry-throttle.js";

/**
 * A client request's admission, before its first attempt: the route's breaker says whether it may
 * go upstream at all; one that may is counted by the retry budget (its ratio) and the throttle
 * (its probes). The proxy and the fleet simulator both call this, so they admit alike.
 */
export function admitRequest(
  breaker: CircuitBreaker,
  budget: RetryBudget,
  throttle: RetryThrottle = NO_THROTTLE,
): Admission {
  const admission = breaker.admit();
  if (admission.admitted) {
    budget.deposit();
    throttle.request();
  }
  return admission;
}

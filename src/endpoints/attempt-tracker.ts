import { isRetryable } from "../retry/classify.js";
import type { AttemptOutcome } from "../retry/outcome.js";
import type { Endpoint } from "./endpoint.js";
import type { EndpointSet } from "./endpoint-set.js";

/**
 * Told about every attempt to an endpoint: that it started, its outcome once known (undefined:
 * cancelled because the client left, which says nothing about the endpoint), and that it is over
 * (its answer forwarded or dropped, or it failed). The upstream client calls it; it keeps the
 * endpoint registry's in-flight counts and ejection rules up to date.
 */
export interface AttemptTracker {
  started(endpoint: Endpoint): void;
  outcome(endpoint: Endpoint, outcome: AttemptOutcome | undefined): void;
  ended(endpoint: Endpoint): void;
}

/** The tracker of `set`, judging outcomes as the retry policy does (RETRY_ON_STATUS). */
export function trackAttempts(set: EndpointSet, retryOnStatus: ReadonlySet<number>): AttemptTracker {
  return {
    started: (endpoint) => set.begin(endpoint),
    outcome: (endpoint, outcome) =>
      set.report(
        endpoint,
        outcome === undefined
          ? "cancelled"
          : isRetryable(outcome, retryOnStatus)
            ? "retryable"
            : "not_retryable",
      ),
    ended: (endpoint) => set.end(endpoint),
  };
}

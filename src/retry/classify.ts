import type { AttemptOutcome } from "./outcome.js";

/**
 * The retry decision's first question: could a retry fix this? A status in RETRY_ON_STATUS, or a
 * refused/reset connection, or no response headers in time; never any other response
 * (2xx, 3xx, other 4xx, unlisted 5xx go to the client unchanged).
 */
export function isRetryable(outcome: AttemptOutcome, retryOnStatus: ReadonlySet<number>): boolean {
  return outcome.kind === "response" ? retryOnStatus.has(outcome.status) : outcome.retryable;
}

/**
 * The outcome proves the request never reached the upstream: the connection was never made
 * (refused, unreachable, DNS, connect timeout). After a reset or a timeout it may have arrived.
 */
export function provesNotSent(outcome: AttemptOutcome): boolean {
  return outcome.kind === "failure" && outcome.failure === "connect_error";
}

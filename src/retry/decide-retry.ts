import type { StopReason } from "./outcome.js";

/** Everything the decision needs, as values: the loop gathers them, this only compares. */
export interface RetryQuestion {
  /** The attempt's outcome could be fixed by a retry (see classify.ts). */
  readonly retryable: boolean;
  /** Retries made so far, and the most this request may make (MAX_RETRIES or x-retry-max). */
  readonly retriesMade: number;
  readonly maxRetries: number;
  /** The request body can be sent again (it was buffered, not streamed). */
  readonly replayable: boolean;
  /**
   * Sending the request twice is safe: its method is idempotent, or it carries an idempotency
   * key. False only for POST/PATCH with IDEMPOTENCY_HEADER empty.
   */
  readonly idempotent: boolean;
  /** The outcome proves the request never reached the upstream (it failed to connect). */
  readonly neverSent: boolean;
  readonly clientGone: boolean;
  /** The parsed Retry-After of the response in ms, if it had a valid one. */
  readonly retryAfterMs: number | undefined;
  readonly retryAfterMaxMs: number;
  /** The backoff delay that applies when there is no Retry-After. */
  readonly backoffMs: number;
  /** Time left until REQUEST_TIMEOUT_MS runs out. */
  readonly remainingMs: number;
  readonly circuitBlocks: boolean;
  /** Overload protection lets a retry go now (retries are held back before first attempts). */
  readonly overloadAllows: boolean;
  /** The fleet-safe retry throttle allows a retry (always true with RETRY_THROTTLE=off). */
  readonly throttleAllows: boolean;
  readonly budgetAllows: boolean;
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | { readonly retry: false; readonly reason: Exclude<StopReason, "shutdown"> };

/**
 * Whether to retry, and after how long. The order of the checks decides which reason is
 * reported when several apply: the cheapest certainties first, then the circuit, then overload
 * protection (the upstream is overloaded now: the most specific of the fleet-wide reasons), then the
 * throttle (what the upstream has been answering: a fleet-wide reason, reported before the
 * pod-local budget so that an engaged throttle shows as "throttled", not as a spent budget),
 * the budget last (a request stopped for another reason must not be counted against it).
 */
export function decideRetry(q: RetryQuestion): RetryDecision {
  if (!q.retryable) return { retry: false, reason: "not_retryable" };
  if (q.retriesMade >= q.maxRetries) return { retry: false, reason: "exhausted" };
  // Nothing dedupes a repeat: only an attempt that never left may be sent again (nginx's rule).
  if (!q.idempotent && !q.neverSent) return { retry: false, reason: "not_idempotent" };
  if (!q.replayable) return { retry: false, reason: "body_too_large" };
  if (q.clientGone) return { retry: false, reason: "client_gone" };
  if (q.retryAfterMs !== undefined && q.retryAfterMs > q.retryAfterMaxMs) {
    return { retry: false, reason: "retry_after_too_long" };
  }
  const delayMs = q.retryAfterMs ?? q.backoffMs;
  if (delayMs >= q.remainingMs) return { retry: false, reason: "deadline" };
  if (q.circuitBlocks) return { retry: false, reason: "circuit_open" };
  if (!q.overloadAllows) return { retry: false, reason: "overloaded" };
  if (!q.throttleAllows) return { retry: false, reason: "throttled" };
  if (!q.budgetAllows) return { retry: false, reason: "budget" };
  return { retry: true, delayMs };
}

/**
 * What one upstream attempt came to, as plain data. `label` is the value of the `outcome` label
 * of retry_sidecar_upstream_attempts_total and the `reason` of retry_sidecar_retries_total.
 */
export type FailureKind = "timeout" | "connect_error" | "reset";

export type AttemptOutcome =
  | { readonly kind: "response"; readonly status: number; readonly retryAfter: string | undefined }
  | { readonly kind: "failure"; readonly failure: FailureKind; readonly retryable: boolean };

/** Why a retryable outcome was not retried: one union, used as metric label and log field. */
export type SkipReason =
  | "budget"
  | "deadline"
  | "retry_after_too_long"
  | "circuit_open"
  | "client_gone"
  | "body_too_large"
  /** POST/PATCH without an idempotency key after an outcome that may have reached the upstream. */
  | "not_idempotent"
  /** The fleet-safe retry throttle: most recent attempts to the upstream failed. */
  | "throttled"
  /** Overload protection held the retry back (retries are shed before first attempts). */
  | "overloaded";

/**
 * Why the loop stopped: the outcome was fine, the retry limit was reached, shutdown cut the
 * request off (its grace period ran out), or a skip reason.
 */
export type StopReason = "not_retryable" | "exhausted" | "shutdown" | SkipReason;

export function outcomeLabel(outcome: AttemptOutcome): string {
  return outcome.kind === "response" ? statusLabel(outcome.status) : outcome.failure;
}

// Status labels are interned once: label strings are built on every attempt otherwise.
const statusLabels: string[] = [];
export function statusLabel(status: number): string {
  let label = statusLabels[status];
  if (label === undefined) {
    label = String(status);
    statusLabels[status] = label;
  }
  return label;
}

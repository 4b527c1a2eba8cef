import { SidecarError } from "../errors/sidecar-error.js";
import type { FailureKind } from "../retry/outcome.js";
import { type AttemptMode, DROPPING, ENDING, FORWARDING, HELD, WAITING } from "./attempt-mode.js";

/**
 * What cutting an attempt short needs of it: fields and steps of the attempt itself
 * (upstream-attempt.ts), which the functions here take, so that the per-try timeout and the
 * client's leaving cost no object or closure of their own on every proxied request.
 */
export interface CancellableAttempt {
  readonly mode: AttemptMode;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** undici's abort for this exchange, once it has one (onConnect). */
  abortUpstream: ((reason?: Error) => void) | undefined;
  /** Why the attempt was cancelled before undici handed over its abort. */
  cancelReason: Error | undefined;
  fail(failure: FailureKind, retryable: boolean, error: SidecarError, cancelled?: boolean): void;
  /** At the per-try timeout: re-arms the timer if the retry loop wants to wait longer (true). */
  waitsLonger(): boolean;
  finishForwarding(clientGone: boolean): void;
  finish(): void;
}

/** The per-try timeout (the attempt's timer): no response headers within `timeoutMs`. */
export function headersTimedOut(attempt: CancellableAttempt): void {
  if (attempt.mode !== WAITING || attempt.waitsLonger()) return;
  const error = new SidecarError("UPSTREAM_TIMEOUT", `no response headers within ${attempt.timeoutMs} ms`);
  attempt.fail("timeout", true, error);
  cancel(attempt, error);
}

/** The client went away (the attempt is its signal's "abort" listener object). */
export function clientLeft(attempt: CancellableAttempt): void {
  const reason = new SidecarError("CLIENT_GONE", "the client went away", { cause: attempt.signal.reason });
  switch (attempt.mode) {
    case WAITING:
      attempt.fail("reset", false, reason, true);
      cancel(attempt, reason);
      return;
    case FORWARDING:
    case ENDING:
      attempt.finishForwarding(true);
      cancel(attempt, reason);
      return;
    case HELD:
    case DROPPING:
      cancel(attempt, reason);
      return;
  }
}

/** Stops the upstream exchange (now, or once undici hands over its abort). */
export function cancel(attempt: CancellableAttempt, reason: Error): void {
  attempt.finish();
  if (attempt.abortUpstream !== undefined) attempt.abortUpstream(reason);
  else attempt.cancelReason = reason;
}

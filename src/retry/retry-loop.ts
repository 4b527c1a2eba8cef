import { stopOnAbort } from "./abort-cause.js";
import { type BackoffOptions, backoffDelayMs } from "./backoff.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import { isRetryable, provesNotSent } from "./classify.js";
import type { Clock, Random, Sleep } from "./clock.js";
import { decideRetry, type RetryDecision } from "./decide-retry.js";
import { type AttemptOutcome, outcomeLabel, type SkipReason, type StopReason } from "./outcome.js";
import { NO_OVERLOAD, type OverloadGate } from "./overload-gate.js";
import { parseRetryAfterMs } from "./retry-after.js";
import type { RetryBudget } from "./retry-budget.js";
import { NO_THROTTLE, type RetryThrottle } from "./retry-throttle.js";

const NOT_RETRYABLE: RetryDecision = { retry: false, reason: "not_retryable" };

/** One attempt as the sender reports it. `discard` frees a response that will not be used. */
export interface Attempt<R> {
  readonly outcome: AttemptOutcome;
  readonly response: R | undefined;
  /** Why there was no response (transport failures), for the logs. */
  readonly error?: Error | undefined;
  discard(): void;
}

/**
 * Sends attempt number `attempt` (1-based), giving up on headers after `timeoutMs`. `target`, when
 * the sender has one, names where the attempt just sent went (an endpoint), for the retry event.
 */
export interface SendAttempt<R> {
  (attempt: number, timeoutMs: number): Promise<Attempt<R>>;
  readonly target?: string | undefined;
}

/** What the loop reports; metrics and logs subscribe (the loop never imports them). */
export interface RetryEvents {
  /** An attempt's outcome, and how long it took from sending to its response headers or failure. */
  attempt(route: string, outcome: string, durationMs: number): void;
  /**
   * A retry is starting now: `attempt` is its number, `reason` the outcome that caused it,
   * `target` where it goes (when the sender says).
   */
  retry(
    route: string,
    requestId: string,
    attempt: number,
    delayMs: number,
    reason: string,
    target: string | undefined,
  ): void;
  skipped(route: string, reason: SkipReason): void;
}

export interface RetryPolicy {
  readonly retryOnStatus: ReadonlySet<number>;
  readonly backoff: BackoffOptions;
  readonly retryAfterMaxMs: number;
  readonly perTryTimeoutMs: number;
}

export interface RetryDeps {
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: Random;
  readonly budget: RetryBudget;
  /** The fleet-safe retry throttle of the upstream; absent means RETRY_THROTTLE=off. */
  readonly throttle?: RetryThrottle | undefined;
  /**
   * The upstream's overload protection; absent admits every retry (OVERLOAD_PROTECTION=off). The
   * first attempt was admitted before the loop (admit-request.ts); each retry is admitted here.
   */
  readonly overload?: OverloadGate | undefined;
  readonly events: RetryEvents;
}

/** The one request being retried. */
export interface RetryRequest {
  readonly route: string;
  readonly requestId: string;
  readonly maxRetries: number;
  readonly replayable: boolean;
  /** Sending it twice is safe (idempotent method or an idempotency key); see decide-retry.ts. */
  readonly idempotent: boolean;
  /** Clock time at which REQUEST_TIMEOUT_MS runs out. */
  readonly deadlineAt: number;
  /** Aborts when the client goes away (or shutdown gives up on it). */
  readonly signal: AbortSignal;
  readonly breaker: CircuitBreaker;
  readonly isProbe: boolean;
}

export interface RetryResult<R> {
  /**
   * The last attempt, or undefined when the client left before any attempt finished, or when
   * the circuit opened while a retry waited (stop "circuit_open") and the response was dropped.
   */
  readonly last: Attempt<R> | undefined;
  readonly attempts: number;
  readonly retries: number;
  readonly stop: StopReason;
  /** The last attempt's outcome was retryable (with stop, tells "exhausted" from "recovered"). */
  readonly retryable: boolean;
}

/**
 * The retry loop: send, classify, decide, wait, send again. It owns the waiting and the
 * bookkeeping; every judgement is delegated to the pure functions it imports.
 */
export async function runWithRetries<R>(
  request: RetryRequest,
  send: SendAttempt<R>,
  policy: RetryPolicy,
  deps: RetryDeps,
): Promise<RetryResult<R>> {
  const { clock, events } = deps;
  const throttle = deps.throttle ?? NO_THROTTLE;
  const overload = deps.overload ?? NO_OVERLOAD;
  let retries = 0;
  let delayMs = 0;
  let reason = "";
  for (let attempt = 1; ; attempt++) {
    const sentAt = clock();
    const remaining = request.deadlineAt - sentAt;
    const sent = send(attempt, Math.max(1, Math.min(policy.perTryTimeoutMs, remaining)));
    // After the send call, which picks the target synchronously, so the event can name it.
    if (attempt > 1) events.retry(request.route, request.requestId, attempt, delayMs, reason, send.target);
    const result = await sent;
    if (request.signal.aborted) {
      // The client left mid-attempt: nothing will read the answer, and the attempt says nothing
      // about the upstream's health, so it is neither counted nor given to the breaker.
      result.discard();
      overload.release();
      if (request.isProbe) request.breaker.releaseProbe();
      return {
        last: undefined,
        attempts: attempt,
        retries,
        stop: stopOnAbort(request.signal),
        retryable: false,
      };
    }
    const endedAt = clock();
    overload.finished(sentAt, endedAt);
    const outcome = result.outcome;
    const retryable = isRetryable(outcome, policy.retryOnStatus);
    const label = outcomeLabel(outcome);
    events.attempt(request.route, label, endedAt - sentAt);
    request.breaker.record(retryable);
    throttle.record(attempt > 1, retryable);

    // A fine answer (the common case) needs no backoff, Retry-After, budget or breaker look-up.
    const decision = !retryable
      ? NOT_RETRYABLE
      : decideRetry({
          retryable,
          retriesMade: retries,
          maxRetries: request.maxRetries,
          replayable: request.replayable,
          idempotent: request.idempotent,
          neverSent: provesNotSent(outcome),
          clientGone: request.signal.aborted,
          retryAfterMs:
            outcome.kind === "response" ? parseRetryAfterMs(outcome.retryAfter, clock()) : undefined,
          retryAfterMaxMs: policy.retryAfterMaxMs,
          backoffMs: backoffDelayMs(retries + 1, policy.backoff, deps.random),
          remainingMs: request.deadlineAt - clock(),
          circuitBlocks: request.breaker.blocksRetry(request.isProbe),
          throttleAllows: throttle.allows(),
          overloadAllows: overload.retryAllowed(),
          budgetAllows: deps.budget.canWithdraw(),
        });
    if (!decision.retry) {
      if (decision.reason !== "not_retryable" && decision.reason !== "exhausted") {
        events.skipped(request.route, decision.reason);
      }
      return { last: result, attempts: attempt, retries, stop: decision.reason, retryable };
    }

    throttle.take();
    deps.budget.withdraw();
    result.discard();
    await deps.sleep(decision.delayMs, request.signal);
    if (request.signal.aborted) {
      // Shutdown cutting the wait off is not a retry skipped for the client's sake.
      const stop = stopOnAbort(request.signal);
      if (stop === "client_gone") events.skipped(request.route, "client_gone");
      if (request.isProbe) request.breaker.releaseProbe();
      return { last: undefined, attempts: attempt, retries, stop, retryable: true };
    }
    // Other requests may have opened the circuit during the wait: then the retry must not go.
    // A transport failure is answered as it was; a response was dropped before the wait.
    if (request.breaker.blocksRetry(request.isProbe)) {
      events.skipped(request.route, "circuit_open");
      const last = result.response === undefined ? result : undefined;
      return { last, attempts: attempt, retries, stop: "circuit_open", retryable: true };
    }
    // Admitted only now, after the wait: the limit may have fallen meanwhile (asked before the
    // wait too, so that a retry that cannot go is not waited for). Refused: as the circuit above.
    if (!overload.admitRetry()) {
      events.skipped(request.route, "overloaded");
      const last = result.response === undefined ? result : undefined;
      return { last, attempts: attempt, retries, stop: "overloaded", retryable: true };
    }
    retries += 1;
    delayMs = decision.delayMs;
    reason = label;
  }
}

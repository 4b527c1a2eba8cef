import type { BackoffOptions } from "./backoff.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import type { Clock, Random, Sleep } from "./clock.js";
import type { AttemptOutcome, SkipReason, StopReason } from "./outcome.js";
import type { OverloadGate } from "./overload-gate.js";
import type { RetryBudget } from "./retry-budget.js";
import { RetryRun } from "./retry-run.js";
import type { RetryThrottle } from "./retry-throttle.js";

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
  /** At the per-try timeout, the sender asks `timedOut.waitLonger()` how much longer to wait (0: none). */
  (attempt: number, timeoutMs: number, timedOut: TimedOut): Promise<Attempt<R>>;
  readonly target?: string | undefined;
}

/** Asked at an attempt's per-try timeout, when it has no response headers yet. */
export interface TimedOut {
  /** How many ms longer to wait for them, or 0 to cut the attempt now (a timeout). */
  waitLonger(): number;
}

/** Told how each attempt ended: once per attempt, during `start` or later. */
export interface AttemptReceiver<R> extends TimedOut {
  attemptEnded(result: Attempt<R>): void;
  /** The sender broke (a bug, not an upstream failure): the run ends with `error`. */
  attemptBroke(error: unknown): void;
}

/**
 * Sends attempt number `attempt` (1-based), giving up on headers after `timeoutMs`, and tells
 * `receiver` how it ended. `target`, when the sender has one, names where the attempt just sent
 * went (an endpoint), for the retry event.
 */
export interface AttemptStarter<R> {
  start(attempt: number, timeoutMs: number, receiver: AttemptReceiver<R>): void;
  readonly target?: string | undefined;
}

/** Told once how the run ended: its result, or a bug (thrown by the run, a sender or a subscriber). */
export interface RunEnded<R> {
  retriesEnded(result: RetryResult<R>): void;
  /** `run`: the attempts made so far, for the report of the request. */
  retriesFailed(error: unknown, run: RetryResult<R>): void;
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
  /** The fleet-safe retry throttle of the upstream; absent means RETRY_THROTTLE=off. */
  readonly throttle?: RetryThrottle | undefined;
  /**
   * The upstream's overload protection; absent admits every retry (OVERLOAD_PROTECTION=off). The
   * first attempt was admitted before the loop (admit-request.ts); each retry by the run (retry-run.ts).
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
  /** The route's retry budget (one per route, as the breaker). */
  readonly budget: RetryBudget;
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
 * The retry loop as a promise: the same state machine (retry-run.ts), driven by a sender that
 * answers with promises. The fleet simulator and the loop's unit tests use it; the proxy drives
 * the machine from the attempts' callbacks instead, with no promise per attempt.
 */
export function runWithRetries<R>(
  request: RetryRequest,
  send: SendAttempt<R>,
  policy: RetryPolicy,
  deps: RetryDeps,
): Promise<RetryResult<R>> {
  return new Promise((resolve, reject) => {
    const ended: RunEnded<R> = {
      retriesEnded: ({ last, attempts, retries, stop, retryable }) =>
        resolve({ last, attempts, retries, stop, retryable }),
      retriesFailed: reject,
    };
    new RetryRun(request, new PromisedAttempts(send), policy, deps, ended).start();
  });
}

/** A promise-returning `send` as the run's attempt starter. */
class PromisedAttempts<R> implements AttemptStarter<R> {
  constructor(private readonly send: SendAttempt<R>) {}

  get target(): string | undefined {
    return this.send.target;
  }

  start(attempt: number, timeoutMs: number, receiver: AttemptReceiver<R>): void {
    this.send(attempt, timeoutMs, receiver).then(
      (result) => receiver.attemptEnded(result),
      (error: unknown) => receiver.attemptBroke(error),
    );
  }
}

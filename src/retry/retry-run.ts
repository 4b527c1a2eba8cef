import { stopOnAbort } from "./abort-cause.js";
import { backoffDelayMs } from "./backoff.js";
import { isRetryable, provesNotSent } from "./classify.js";
import { decideRetry, type RetryDecision } from "./decide-retry.js";
import { outcomeLabel, type StopReason } from "./outcome.js";
import { NO_OVERLOAD, type OverloadGate } from "./overload-gate.js";
import { parseRetryAfterMs } from "./retry-after.js";
import type {
  Attempt,
  AttemptReceiver,
  AttemptStarter,
  RetryDeps,
  RetryPolicy,
  RetryRequest,
  RetryResult,
  RunEnded,
} from "./retry-loop.js";
import { NO_THROTTLE, type RetryThrottle } from "./retry-throttle.js";

export type { AttemptReceiver, AttemptStarter, RunEnded } from "./retry-loop.js";

const NOT_RETRYABLE: RetryDecision = { retry: false, reason: "not_retryable" };

/**
 * The retry loop as a small state machine driven by the attempts' own callbacks: send, and when the
 * attempt tells how it ended, classify, decide, and either end or wait and send again. A final
 * first attempt costs no promise and no closure (the run is its own receiver and result); only a
 * retry's wait goes through the injected `sleep`. It owns the waiting and the bookkeeping; every
 * judgement is in the pure functions it imports; it reads no clock, timer or random of its own.
 */
export class RetryRun<R> implements RetryResult<R>, AttemptReceiver<R> {
  last: Attempt<R> | undefined = undefined;
  /** The number of the attempt sent last. */
  attempts = 0;
  retries = 0;
  stop: StopReason = "not_retryable";
  retryable = false;

  private readonly throttle: RetryThrottle;
  private readonly overload: OverloadGate;
  private sentAt = 0;
  /** The attempt out was waited for past its per-try timeout. */
  private waitedPast = false;
  /** The wait before the attempt being sent, and the outcome label that caused it (retry event). */
  private delayMs = 0;
  private reason = "";
  /** Inside the sender's `start`: an attempt that ends there is judged after its retry event. */
  private sending = false;
  private endedEarly: Attempt<R> | undefined = undefined;
  /** The attempt a retry waits after: a transport failure is still the answer if the retry cannot go. */
  private superseded: Attempt<R> | undefined = undefined;
  private holdsPlace = true; // the attempt out holds a place in flight (the first's from admission)
  /** Ended (or failed): later callbacks are ignored. */
  private over = false;
  private failed = false;

  constructor(
    private readonly request: RetryRequest,
    private readonly starter: AttemptStarter<R>,
    private readonly policy: RetryPolicy,
    private readonly deps: RetryDeps,
    private readonly ended: RunEnded<R>,
  ) {
    this.throttle = deps.throttle ?? NO_THROTTLE;
    this.overload = deps.overload ?? NO_OVERLOAD;
  }

  /** Sends the first attempt (admitted before the run: admit-request.ts). */
  start(): void {
    try {
      this.send();
    } catch (error) {
      this.fail(error);
    }
  }

  attemptEnded(result: Attempt<R>): void {
    if (this.over) return;
    if (this.sending) {
      this.endedEarly = result;
      return;
    }
    try {
      this.judge(result);
    } catch (error) {
      this.fail(error);
    }
  }

  attemptBroke(error: unknown): void {
    this.fail(error);
  }

  // The per-try timeout makes room for a retry. While overload protection holds retries back there
  // is none, and a queueing upstream does this attempt's work anyway: it is waited for up to the
  // deadline instead of becoming a 504 (docs/overload.md, "Waiting past the per-try timeout").
  waitLonger(): number {
    if (this.over || this.request.signal.aborted) return 0;
    const remaining = this.request.deadlineAt - this.deps.clock();
    if (remaining < 1 || !this.overload.waitsPastTimeout(this.sentAt)) return 0;
    this.waitedPast = true;
    return remaining;
  }

  private send(): void {
    const attempt = ++this.attempts;
    const sentAt = this.deps.clock();
    this.sentAt = sentAt;
    this.waitedPast = false;
    const remaining = this.request.deadlineAt - sentAt;
    this.sending = true;
    try {
      this.starter.start(attempt, Math.max(1, Math.min(this.policy.perTryTimeoutMs, remaining)), this);
    } finally {
      this.sending = false;
    }
    // After `start`, which picks the target synchronously, so the event can name it.
    if (attempt > 1) {
      const { route, requestId } = this.request;
      this.deps.events.retry(route, requestId, attempt, this.delayMs, this.reason, this.starter.target);
    }
    const early = this.endedEarly;
    if (early !== undefined) {
      this.endedEarly = undefined;
      this.judge(early);
    }
  }

  private judge(result: Attempt<R>): void {
    const { request, policy, deps, throttle, overload } = this;
    const clock = deps.clock;
    const attempt = this.attempts;
    this.holdsPlace = false;
    if (request.signal.aborted) {
      // The client left: nobody reads the answer, and it says nothing of the upstream's health.
      overload.release();
      result.discard();
      if (request.isProbe) request.breaker.releaseProbe();
      this.end(undefined, stopOnAbort(request.signal), false);
      return;
    }
    const sentAt = this.sentAt;
    const endedAt = clock();
    const outcome = result.outcome;
    overload.finished(sentAt, endedAt, this.waitedPast && outcome.kind !== "response");
    const retryable = isRetryable(outcome, policy.retryOnStatus);
    const label = outcomeLabel(outcome);
    deps.events.attempt(request.route, label, endedAt - sentAt);
    request.breaker.record(retryable, request.isProbe);
    throttle.record(attempt > 1, retryable);

    // A fine answer (the common case) needs no backoff, Retry-After, budget or breaker look-up.
    const decision = !retryable
      ? NOT_RETRYABLE
      : decideRetry({
          retryable,
          retriesMade: this.retries,
          maxRetries: request.maxRetries,
          replayable: request.replayable,
          idempotent: request.idempotent,
          neverSent: provesNotSent(outcome),
          clientGone: request.signal.aborted,
          retryAfterMs:
            outcome.kind === "response" ? parseRetryAfterMs(outcome.retryAfter, clock()) : undefined,
          retryAfterMaxMs: policy.retryAfterMaxMs,
          backoffMs: backoffDelayMs(this.retries + 1, policy.backoff, deps.random),
          remainingMs: request.deadlineAt - clock(),
          circuitBlocks: request.breaker.blocksRetry(request.isProbe),
          throttleAllows: throttle.allows(),
          overloadAllows: overload.retryAllowed(),
          budgetAllows: request.budget.canWithdraw(),
        });
    if (!decision.retry) {
      if (decision.reason !== "not_retryable" && decision.reason !== "exhausted") {
        deps.events.skipped(request.route, decision.reason);
      }
      this.end(result, decision.reason, retryable);
      return;
    }

    throttle.take();
    request.budget.withdraw();
    result.discard();
    this.superseded = result;
    this.delayMs = decision.delayMs;
    this.reason = label;
    // The retry path only: one promise and one closure per wait.
    deps.sleep(decision.delayMs, request.signal).then(
      () => this.afterWait(),
      (error: unknown) => this.fail(error),
    );
  }

  private afterWait(): void {
    try {
      this.retryAfterWait();
    } catch (error) {
      this.fail(error);
    }
  }

  private retryAfterWait(): void {
    const { request, deps } = this;
    const result = this.superseded as Attempt<R>;
    this.superseded = undefined;
    if (request.signal.aborted) {
      // Shutdown cutting the wait off is not a retry skipped for the client's sake.
      const stop = stopOnAbort(request.signal);
      if (stop === "client_gone") deps.events.skipped(request.route, "client_gone");
      if (request.isProbe) request.breaker.releaseProbe();
      this.end(undefined, stop, true);
      return;
    }
    // Other requests may have opened the circuit during the wait: then the retry must not go.
    // A transport failure is answered as it was; a response was dropped before the wait.
    if (request.breaker.blocksRetry(request.isProbe)) {
      deps.events.skipped(request.route, "circuit_open");
      this.end(result.response === undefined ? result : undefined, "circuit_open", true);
      return;
    }
    // Admitted only now, after the wait: the limit may have fallen meanwhile (asked before the
    // wait too, so that a retry that cannot go is not waited for). Refused: as the circuit above.
    if (!this.overload.admitRetry()) {
      deps.events.skipped(request.route, "overloaded");
      this.end(result.response === undefined ? result : undefined, "overloaded", true);
      return;
    }
    this.holdsPlace = true;
    this.retries += 1;
    this.send();
  }

  private end(last: Attempt<R> | undefined, stop: StopReason, retryable: boolean): void {
    this.over = true;
    this.last = last;
    this.stop = stop;
    this.retryable = retryable;
    this.ended.retriesEnded(this);
  }

  /** A bug (also one thrown by `retriesEnded`): told once, and the run takes no further callback. */
  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.over = true;
    if (this.holdsPlace) this.overload.release(); // else it counts against the limit for good
    this.ended.retriesFailed(error, this);
  }
}

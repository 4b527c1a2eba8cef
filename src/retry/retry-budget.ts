import type { Clock } from "./clock.js";

export interface RetryBudgetOptions {
  /** Retries may add this fraction of the requests seen in the window (RETRY_BUDGET_RATIO). */
  readonly ratio: number;
  /** ... plus this many retries per second of window (RETRY_BUDGET_MIN_PER_SEC). */
  readonly minPerSec: number;
  /** The sliding window, ms. The spec fixes 10 s. */
  readonly windowMs?: number;
}

const BUCKETS = 100; // a 10 s window in 100 ms steps: the window slides smoothly, memory is fixed

/**
 * A sliding-window retry budget (after Linkerd's and Envoy's): a retry is allowed while
 * retries < minPerSec x window + ratio x requests, counting both over the last window.
 * `deposit` records a request, `canWithdraw` asks, `withdraw` records a retry.
 */
export class RetryBudget {
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private readonly bucketMs: number;
  private readonly floor: number;
  private requestSum = 0;
  private retrySum = 0;
  private current = 0; // index of the bucket holding `currentStart`
  private currentStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: RetryBudgetOptions,
    private readonly clock: Clock,
  ) {
    const windowMs = options.windowMs ?? 10_000;
    this.bucketMs = windowMs / BUCKETS;
    this.floor = options.minPerSec * (windowMs / 1000);
  }

  deposit(): void {
    this.advance();
    this.requests[this.current] = (this.requests[this.current] ?? 0) + 1;
    this.requestSum += 1;
  }

  canWithdraw(): boolean {
    this.advance();
    return this.retrySum < this.floor + this.options.ratio * this.requestSum;
  }

  /** Records a retry when the budget allows it; returns whether it did. */
  withdraw(): boolean {
    if (!this.canWithdraw()) return false;
    this.retries[this.current] = (this.retries[this.current] ?? 0) + 1;
    this.retrySum += 1;
    return true;
  }

  /** Rotates the ring so that the current bucket covers now, dropping buckets older than the window. */
  private advance(): void {
    const now = this.clock();
    const start = Math.floor(now / this.bucketMs) * this.bucketMs;
    if (start <= this.currentStart) return; // same bucket, or a clock that stepped back
    const steps = Math.min(BUCKETS, Math.max(0, Math.round((start - this.currentStart) / this.bucketMs)));
    for (let i = 0; i < steps; i++) {
      this.current = (this.current + 1) % BUCKETS;
      this.requestSum -= this.requests[this.current] ?? 0;
      this.retrySum -= this.retries[this.current] ?? 0;
      this.requests[this.current] = 0;
      this.retries[this.current] = 0;
    }
    this.currentStart = start;
  }
}

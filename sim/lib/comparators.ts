import type { AttemptOutcome } from "../../src/retry/outcome.js";
import type { RetryThrottle } from "../../src/retry/retry-throttle.js";
import type { AttemptGate } from "./pod.js";

/**
 * gRPC retry throttling (gRFC A6), as a RetryThrottle for comparison: per client, a bucket of
 * `maxTokens` that every failed attempt (first or retry) empties by 1 and every success refills by
 * `tokenRatio`; retries go only while tokens > maxTokens / 2. No refill with time.
 */
export class GrpcThrottle implements RetryThrottle {
  private tokens: number;

  constructor(
    private readonly maxTokens: number,
    private readonly tokenRatio: number,
  ) {
    this.tokens = maxTokens;
  }

  request(): void {}

  record(_retry: boolean, failed: boolean): void {
    this.tokens = failed
      ? Math.max(0, this.tokens - 1)
      : Math.min(this.maxTokens, this.tokens + this.tokenRatio);
  }

  allows(): boolean {
    return this.tokens > this.maxTokens / 2;
  }

  take(): void {}
}

/**
 * Client-side adaptive throttling of the Google SRE book ("Handling Overload"): over a sliding
 * window, each attempt is rejected locally with probability max(0, (requests - K x accepts) /
 * (requests + 1)), where requests counts every attempt the client wanted to send and accepts the
 * ones the backend answered well. Works on every attempt, first ones included, so it is a gate.
 */
export class SreAdaptiveGate implements AttemptGate {
  private readonly buckets: { requests: number; accepts: number }[];
  private readonly bucketMs: number;
  private start = 0;

  constructor(
    private readonly clock: () => number,
    private readonly random: () => number,
    private readonly k = 2,
    windowMs = 120_000,
    buckets = 120,
  ) {
    this.bucketMs = windowMs / buckets;
    this.buckets = Array.from({ length: buckets }, () => ({ requests: 0, accepts: 0 }));
  }

  admit(_first: boolean): boolean {
    const totals = this.advance();
    const current = this.buckets[this.buckets.length - 1] as { requests: number; accepts: number };
    current.requests += 1;
    const reject = Math.max(0, (totals.requests - this.k * totals.accepts) / (totals.requests + 1));
    return this.random() >= reject;
  }

  done(outcome: AttemptOutcome, _latencyMs: number): void {
    this.advance();
    const ok = outcome.kind === "response" && outcome.status < 500;
    if (ok) (this.buckets[this.buckets.length - 1] as { accepts: number }).accepts += 1;
  }

  private advance(): { requests: number; accepts: number } {
    const now = this.clock();
    if (now - this.start >= this.bucketMs * this.buckets.length) {
      // Nothing for a whole window (a pod at 1,000 that calls every 18 s on average, sometimes
      // minutes apart): every bucket is out of it. Shifting one at a time would take that long.
      for (const bucket of this.buckets) {
        bucket.requests = 0;
        bucket.accepts = 0;
      }
      this.start = now - (now % this.bucketMs);
    }
    while (now - this.start >= this.bucketMs) {
      this.buckets.shift();
      this.buckets.push({ requests: 0, accepts: 0 });
      this.start += this.bucketMs;
    }
    let requests = 0;
    let accepts = 0;
    for (const b of this.buckets) {
      requests += b.requests;
      accepts += b.accepts;
    }
    return { requests, accepts };
  }
}

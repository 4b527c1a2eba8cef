export interface RetryThrottleOptions {
  /**
   * The most tokens the bucket holds (RETRY_THROTTLE_TOKENS): from a healthy state, how many failed
   * attempts in a row a sidecar makes (retries included) before the throttle engages.
   */
  readonly tokens: number;
  /**
   * Tokens a successful attempt earns back (RETRY_THROTTLE_RATIO); a failed one costs 1. The
   * bucket balances where ratio / (1 + ratio) of attempts fail (0.7: 41%): below that retries
   * all go, above it they stop.
   */
  readonly ratio: number;
  /**
   * While the throttle is engaged, this many retries per client request still go as probes
   * (RETRY_THROTTLE_PROBE_RATIO): they are how it learns that retries do better than first attempts.
   */
  readonly probeRatio: number;
}

/** What the retry loop asks and tells; one per upstream, shared by every route and endpoint. */
export interface RetryThrottle {
  /** A client request was admitted (it may earn a probe while the throttle is engaged). */
  request(): void;
  /** One attempt's outcome: `retry` when it was a retry, `failed` when its outcome was retryable. */
  record(retry: boolean, failed: boolean): void;
  /** May a retry go now? A pure question: nothing changes until `take`. */
  allows(): boolean;
  /** A retry the throttle allowed is going. */
  take(): void;
}

/** RETRY_THROTTLE=off: every retry is allowed, nothing is kept (the behaviour before the throttle). */
export const NO_THROTTLE: RetryThrottle = {
  request() {},
  record() {},
  allows: () => true,
  take() {},
};

// The weight of one first attempt in the moving average of their success (mostly the last 3-6):
// quick enough to follow a pod whose kept-alive connection went to the sick instance.
const FIRST_ALPHA = 0.3;
// Retries route around a fault when they succeed this much more often than first attempts do.
const LIFT_MARGIN = 0.3;
// The most evidence of that kept: a few failed retries in a row use it up.
const LIFT_MAX = 5;

/**
 * The fleet-safe retry throttle, after gRPC's retry throttling: a token bucket that every failed
 * attempt empties by 1 and every successful one refills by `ratio`; retries go while tokens are
 * left. Event-driven on purpose: the state depends only on the sequence of outcomes, never on time
 * or rate, so a pod with one request a minute and one with a thousand a second settle at the same
 * share of retries for the same upstream behaviour.
 *
 * One addition: the failure ratio alone cannot tell a sick instance behind a connection-level
 * balancer (a third of first attempts fail on a kept-alive connection, while a retry on a fresh
 * connection usually succeeds) from an upstream that fails at random. So the throttle also keeps
 * `lift`, the evidence that retries succeed clearly more often than first attempts; while there is
 * any, retries go even with the bucket empty. Random failures give retries no such edge, so an
 * upstream that fails at random is throttled on its failure ratio alone.
 */
export class TokenRetryThrottle implements RetryThrottle {
  private tokens: number;
  private probeCredit = 0;
  private firstSuccess = 1;
  private lift = 0;

  constructor(private readonly options: RetryThrottleOptions) {
    this.tokens = options.tokens;
  }

  request(): void {
    if (!this.open()) this.probeCredit = Math.min(1, this.probeCredit + this.options.probeRatio);
  }

  record(retry: boolean, failed: boolean): void {
    this.tokens = failed
      ? Math.max(0, this.tokens - 1)
      : Math.min(this.options.tokens, this.tokens + this.options.ratio);
    const success = failed ? 0 : 1;
    if (retry) {
      const edge = success - this.firstSuccess - LIFT_MARGIN;
      this.lift = Math.min(LIFT_MAX, Math.max(0, this.lift + edge));
    } else {
      this.firstSuccess += FIRST_ALPHA * (success - this.firstSuccess);
    }
  }

  allows(): boolean {
    return this.open() || this.probeCredit >= 1;
  }

  take(): void {
    if (!this.open()) this.probeCredit -= 1;
  }

  /** The tokens left, for tests and the simulator. */
  get level(): number {
    return this.tokens;
  }

  private open(): boolean {
    return this.tokens > 0 || this.lift > 0;
  }
}

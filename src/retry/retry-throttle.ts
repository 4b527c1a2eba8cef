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
const LIFT_MARGIN = 0.4;
// The most evidence of that kept: a few failed retries in a row use it up.
const LIFT_MAX = 5;
// The weight of one retry in the moving average of their own success (about the last 20 retries).
const RETRY_ALPHA = 0.05;
// Retries that succeed at least this often are worth their load whatever first attempts do: a
// pod whose connections go to the sick instance and a healthy one (half its first attempts fail,
// two retries in three succeed) is above it; an upstream failing half its attempts at random is not.
const RETRY_WORTH = 0.6;
// After this many failed attempts in a row, each retry goes while retries have not been shown
// worthless. Without it, a pod whose kept-alive connection sticks to a sick instance and whose
// first few retries were unlucky stops retrying, and a few first attempts later its circuit
// breaker opens (until ENDPOINT_EJECT_AFTER failures renew the connection, its half-open probe
// goes over the same connection and fails again). Kept below the breaker's default of 10 so that
// the retries come before the circuit opens.
const RUN = 4;
// "Shown worthless": retries succeed less often than this (random-80: one in five; an outage:
// never) over at least this much evidence (the weight of about three retries).
const RUN_WORTH = 0.3;
const RUN_EVIDENCE = 2.5;

/**
 * The fleet-safe retry throttle, after gRPC's retry throttling: a token bucket that every failed
 * attempt empties by 1 and every successful one refills by `ratio`; retries go while a whole token
 * is left. Event-driven on purpose: the state depends only on the sequence of outcomes, never on
 * time or rate, so a pod with one request a minute and one with a thousand a second settle at the
 * same share of retries for the same upstream behaviour.
 *
 * The failure ratio alone cannot tell a sick instance behind a connection-level balancer (first
 * attempts on a kept-alive connection to it all fail, while a retry on a fresh connection usually
 * succeeds) from an upstream that fails at random. So retries also go, with the bucket empty:
 * - while there is `lift`, the evidence that retries succeed clearly more often than first attempts;
 * - while retries themselves succeed at least RETRY_WORTH of the time (a moving average);
 * - during a run of RUN failed attempts, unless retries have been shown worthless, so that a pod
 *   stuck on the sick instance keeps trying before its circuit opens.
 * Random failures give retries no edge and a success rate no better than first attempts', so an
 * upstream that fails at random is throttled on its failure ratio.
 */
export class TokenRetryThrottle implements RetryThrottle {
  private tokens: number;
  private probeCredit = 0;
  private firstSuccess = 1;
  private lift = 0;
  // The moving average of retry success, as a weighted sum over a weighted count, so that the
  // first retries count as a plain mean (no prior to wear off) and no retries means no evidence.
  private retryWins = 0;
  private retryWeight = 0;
  private failedInRow = 0;

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
    this.failedInRow = failed ? this.failedInRow + 1 : 0;
    const success = failed ? 0 : 1;
    if (retry) {
      const edge = success - this.firstSuccess - LIFT_MARGIN;
      this.lift = Math.min(LIFT_MAX, Math.max(0, this.lift + edge));
      this.retryWins = this.retryWins * (1 - RETRY_ALPHA) + success;
      this.retryWeight = this.retryWeight * (1 - RETRY_ALPHA) + 1;
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

  /** How often retries succeed lately (undefined before the first retry), for tests and the simulator. */
  get retrySuccess(): number | undefined {
    return this.retryWeight === 0 ? undefined : this.retryWins / this.retryWeight;
  }

  private open(): boolean {
    return this.tokens >= 1 || this.lift > 0 || this.retriesWorthIt() || this.runToBreak();
  }

  private retriesWorthIt(): boolean {
    return this.retryWeight > 0 && this.retryWins / this.retryWeight >= RETRY_WORTH;
  }

  private runToBreak(): boolean {
    if (this.failedInRow < RUN) return false;
    return this.retryWeight < RUN_EVIDENCE || this.retryWins / this.retryWeight >= RUN_WORTH;
  }
}

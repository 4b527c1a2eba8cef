import type { Clock } from "./clock.js";

export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitBreakerOptions {
  /** Consecutive retryable outcomes that open the circuit; 0 turns the breaker off. */
  readonly failureThreshold: number;
  /** How long the circuit stays open before one probe is let through, ms. */
  readonly openMs: number;
}

/** The answer to "may this request go upstream?" */
export type Admission =
  | { readonly admitted: true; readonly probe: boolean }
  | { readonly admitted: false; readonly retryAfterMs: number };

const ADMITTED: Admission = { admitted: true, probe: false };
const PROBE: Admission = { admitted: true, probe: true };

/**
 * One route's circuit breaker. Closed: everything goes; `failureThreshold` consecutive retryable
 * outcomes open it. Open: requests are refused for `openMs`. Then half-open: one probe request
 * goes; its first non-retryable outcome closes the circuit, a retryable one opens it again,
 * and the others are refused meanwhile (the outcomes of requests admitted before it opened do not
 * count). Pure state on an injected clock; `onChange` reports moves.
 */
export class CircuitBreaker {
  private state: CircuitState = "closed";
  private failures = 0;
  private openUntil = 0;
  private probeInFlight = false;

  constructor(
    private readonly options: CircuitBreakerOptions,
    private readonly clock: Clock,
    private readonly onChange: (state: CircuitState) => void = () => {},
  ) {}

  get enabled(): boolean {
    return this.options.failureThreshold > 0;
  }

  /** The state now (an open circuit whose time is up reads as half-open). */
  current(): CircuitState {
    if (this.state === "open" && this.clock() >= this.openUntil) this.move("half-open");
    return this.state;
  }

  /** Called once per client request before its first attempt. */
  admit(): Admission {
    if (!this.enabled) return ADMITTED;
    const state = this.current();
    if (state === "closed") return ADMITTED;
    if (state === "half-open" && !this.probeInFlight) {
      this.probeInFlight = true;
      return PROBE;
    }
    return { admitted: false, retryAfterMs: this.retryAfterMs() };
  }

  /** How long a refused request should wait before trying again, ms. */
  retryAfterMs(): number {
    // Open: what is left of the open period; half-open with a probe out: the period again,
    // since that is the soonest the probe can have failed and the circuit reopened.
    const left = this.current() === "open" ? this.openUntil - this.clock() : this.options.openMs;
    return Math.max(1, left);
  }

  /** True when a retry must not go: the circuit is open, or half-open with the probe elsewhere. */
  blocksRetry(isProbe: boolean): boolean {
    if (!this.enabled) return false;
    const state = this.current();
    return state === "open" || (state === "half-open" && !isProbe);
  }

  /**
   * Records one attempt's outcome. While the circuit is not closed only the probe's outcome counts:
   * the others belong to requests admitted before it opened, and a slow answer from before must
   * not cut the open period short or let more than the one probe through.
   */
  record(retryable: boolean, isProbe = false): void {
    if (!this.enabled) return;
    if (this.state !== "closed") {
      if (!isProbe) return;
      this.probeInFlight = false;
      if (retryable) this.open();
      else {
        this.failures = 0;
        this.move("closed");
      }
      return;
    }
    if (!retryable) {
      this.failures = 0;
      return;
    }
    this.failures += 1;
    if (this.failures >= this.options.failureThreshold) this.open();
  }

  /** The probe's request ended without an outcome (client gone): let the next request probe. */
  releaseProbe(): void {
    this.probeInFlight = false;
  }

  private open(): void {
    this.openUntil = this.clock() + this.options.openMs;
    this.probeInFlight = false;
    this.move("open");
  }

  private move(state: CircuitState): void {
    if (state === this.state) return;
    this.state = state;
    this.onChange(state);
  }
}

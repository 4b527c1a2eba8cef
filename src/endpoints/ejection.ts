import type { Clock } from "../retry/clock.js";
import type { Endpoint } from "./endpoint.js";

export interface EjectionOptions {
  /** ENDPOINT_EJECT_AFTER: consecutive retryable outcomes that eject; 0 = never. */
  readonly ejectAfter: number;
  /** ENDPOINT_EJECT_MS: how long an ejected endpoint gets no attempts. */
  readonly ejectMs: number;
}

export interface EjectionEvents {
  ejected(endpoint: Endpoint, failures: number, ejectedMs: number): void;
  restored(endpoint: Endpoint): void;
  /**
   * `endpoint` failed `ejectAfter` more times in a row but may not be ejected (the half cap: a
   * lone endpoint never is). Its kept-alive connections are to be replaced: behind a
   * connection-level balancer (kube-proxy and a ClusterIP) they may all lead to one sick backend.
   */
  stuck(endpoint: Endpoint, failures: number): void;
}

/**
 * Outlier ejection on consecutive failures, as Envoy's `consecutive_5xx` with
 * `max_ejection_percent` 50: an endpoint with `ejectAfter` retryable outcomes in a row leaves the
 * rotation for `ejectMs`, then comes back with its count at zero. At most half of the endpoints
 * (rounded down) are out at once, so a lone endpoint never is: refusing all traffic is the
 * circuit breaker's job. Pure state on an injected clock; the caller passes the current list.
 */
export class Ejection {
  private ejected = 0;
  /** The earliest ejectedUntil of the ejected endpoints; Infinity when none is. */
  private nextRestoreAt = Number.POSITIVE_INFINITY;

  constructor(
    private readonly options: EjectionOptions,
    private readonly clock: Clock,
    private readonly events: EjectionEvents,
  ) {}

  get ejectedCount(): number {
    return this.ejected;
  }

  /**
   * One attempt's outcome on `endpoint`. `all` is the current list (the cap is half of it). An
   * attempt cancelled because the client left has no outcome: do not record it.
   */
  record(endpoint: Endpoint, retryable: boolean, all: readonly Endpoint[]): void {
    if (!retryable) {
      endpoint.consecutiveFailures = 0;
      return;
    }
    endpoint.consecutiveFailures += 1;
    const ejectAfter = this.options.ejectAfter;
    if (
      ejectAfter === 0 ||
      endpoint.removed ||
      endpoint.ejectedUntil !== undefined ||
      endpoint.consecutiveFailures < ejectAfter
    ) {
      return;
    }
    if (this.ejected < Math.floor(all.length / 2)) this.eject(endpoint);
    // Kept in rotation by the cap: every ejectAfter failures in a row, new connections instead.
    else if (endpoint.consecutiveFailures % ejectAfter === 0) {
      this.events.stuck(endpoint, endpoint.consecutiveFailures);
    }
  }

  /** Brings back the endpoints whose ejection is over. Cheap when none is ejected. */
  restoreExpired(all: readonly Endpoint[]): void {
    if (this.ejected === 0) return;
    const now = this.clock();
    if (now < this.nextRestoreAt) return;
    let next = Number.POSITIVE_INFINITY;
    for (const endpoint of all) {
      const until = endpoint.ejectedUntil;
      if (until === undefined) continue;
      if (until <= now) this.restore(endpoint);
      else next = Math.min(next, until);
    }
    this.nextRestoreAt = next;
  }

  /**
   * After the list changed (`all` is the new one, `gone` the endpoints dropped from it): forgets
   * the ejections of the dropped, and when the list shrank below twice the ejected, restores the
   * ejections that would end soonest, so that the cap holds at every moment.
   */
  listChanged(all: readonly Endpoint[], gone: readonly Endpoint[]): void {
    for (const endpoint of gone) {
      if (endpoint.ejectedUntil !== undefined) {
        endpoint.ejectedUntil = undefined;
        this.ejected -= 1;
      }
    }
    const cap = Math.floor(all.length / 2);
    if (this.ejected > cap) {
      const byEnd = all
        .filter((e) => e.ejectedUntil !== undefined)
        .sort((a, b) => (a.ejectedUntil as number) - (b.ejectedUntil as number));
      for (const endpoint of byEnd.slice(0, this.ejected - cap)) this.restore(endpoint);
    }
    this.nextRestoreAt = Number.POSITIVE_INFINITY;
    for (const endpoint of all) {
      if (endpoint.ejectedUntil !== undefined) {
        this.nextRestoreAt = Math.min(this.nextRestoreAt, endpoint.ejectedUntil);
      }
    }
  }

  private eject(endpoint: Endpoint): void {
    const until = this.clock() + this.options.ejectMs;
    endpoint.ejectedUntil = until;
    this.ejected += 1;
    this.nextRestoreAt = Math.min(this.nextRestoreAt, until);
    this.events.ejected(endpoint, endpoint.consecutiveFailures, this.options.ejectMs);
  }

  private restore(endpoint: Endpoint): void {
    endpoint.ejectedUntil = undefined;
    endpoint.consecutiveFailures = 0;
    this.ejected -= 1;
    this.events.restored(endpoint);
  }
}

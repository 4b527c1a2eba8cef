import type { Clock, Random } from "../retry/clock.js";
import { chooseEndpoint } from "./balancer.js";
import { Ejection, type EjectionEvents, type EjectionOptions } from "./ejection.js";
import { type Endpoint, newEndpoint } from "./endpoint.js";

export interface EndpointEvents extends EjectionEvents {
  /** A resolution changed the list: `added` get attempts from now on, `removed` get none. */
  changed(added: readonly Endpoint[], removed: readonly Endpoint[], count: number): void;
}

/** What an attempt came to, for the ejection rules. */
export type EndpointOutcome = "retryable" | "not_retryable" | "cancelled";

/** One endpoint as GET /endpoints shows it. */
export interface EndpointView {
  readonly address: string;
  readonly state: "active" | "ejected";
  readonly inFlight: number;
  readonly consecutiveFailures: number;
  /** ISO 8601, or null while active. */
  readonly ejectedUntil: string | null;
}

export interface EndpointsView {
  readonly host: string;
  readonly port: number;
  readonly endpoints: readonly EndpointView[];
}

export interface EndpointSetOptions extends EjectionOptions {
  /** The host of UPSTREAM_URL (no brackets), as shown by /endpoints. */
  readonly host: string;
  /** The port of UPSTREAM_URL (its scheme's default when absent). */
  readonly port: number;
}

/**
 * The upstream's endpoints and their state: the one registry that resolution updates and the data
 * path asks. Per attempt the data path calls, in one synchronous turn, `choose` then `begin`; when
 * the outcome is known, `report`; when the attempt is over (response body done or failed), `end`.
 * Pure state on an injected clock and random source.
 */
export class EndpointSet {
  private list: Endpoint[] = [];
  private readonly ejection: Ejection;

  constructor(
    private readonly options: EndpointSetOptions,
    clock: Clock,
    private readonly random: Random,
    private readonly events: EndpointEvents,
  ) {
    this.ejection = new Ejection(options, clock, events);
  }

  get host(): string {
    return this.options.host;
  }

  get port(): number {
    return this.options.port;
  }

  /** The current endpoints (removed ones excluded). Read-only: use the methods to change them. */
  get endpoints(): readonly Endpoint[] {
    return this.list;
  }

  /**
   * Applies a resolution: the addresses the host stands for now. Known addresses keep their state;
   * new ones are appended; missing ones are marked removed (their attempts in flight go on).
   * An empty list is not applied: a resolution that found nothing keeps what is known.
   */
  update(addresses: readonly string[]): { added: readonly Endpoint[]; removed: readonly Endpoint[] } {
    const none = { added: [], removed: [] };
    if (addresses.length === 0) return none;
    const wanted = new Set(addresses);
    const known = new Set(this.list.map((e) => e.address));
    const removed = this.list.filter((e) => !wanted.has(e.address));
    const added = [...wanted].filter((a) => !known.has(a)).map((a) => newEndpoint(a, this.options.port));
    if (added.length === 0 && removed.length === 0) return none;
    for (const endpoint of removed) endpoint.removed = true;
    this.list = [...this.list.filter((e) => !e.removed), ...added];
    this.ejection.listChanged(this.list, removed);
    this.events.changed(added, removed, this.list.length);
    return { added, removed };
  }

  /**
   * The endpoint for the next attempt (see chooseEndpoint); `tried` holds the keys of the
   * endpoints this request already used. Undefined while no endpoint is known.
   */
  choose(tried?: ReadonlySet<string>): Endpoint | undefined {
    this.ejection.restoreExpired(this.list);
    return chooseEndpoint(this.list, tried, this.random);
  }

  /** An attempt goes to `endpoint` now. */
  begin(endpoint: Endpoint): void {
    endpoint.inFlight += 1;
  }

  /** The attempt's outcome is known (response headers or a transport failure). */
  report(endpoint: Endpoint, outcome: EndpointOutcome): void {
    if (outcome === "cancelled") return; // a client that left says nothing about the endpoint
    this.ejection.record(endpoint, outcome === "retryable", this.list);
  }

  /** The attempt is over: its response was read or dropped, or it failed. Once per `begin`. */
  end(endpoint: Endpoint): void {
    endpoint.inFlight -= 1;
  }

  /** How many endpoints are in rotation and how many ejected now (for the gauge). */
  counts(): { active: number; ejected: number } {
    this.ejection.restoreExpired(this.list);
    const ejected = this.ejection.ejectedCount;
    return { active: this.list.length - ejected, ejected };
  }

  /** The body of GET /endpoints. */
  view(): EndpointsView {
    this.ejection.restoreExpired(this.list);
    return {
      host: this.options.host,
      port: this.options.port,
      endpoints: this.list.map((e) => ({
        address: e.key,
        state: e.ejectedUntil === undefined ? "active" : "ejected",
        inFlight: e.inFlight,
        consecutiveFailures: e.consecutiveFailures,
        ejectedUntil: e.ejectedUntil === undefined ? null : new Date(e.ejectedUntil).toISOString(),
      })),
    };
  }
}

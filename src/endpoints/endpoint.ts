/**
 * One address of the upstream host, with the URL's port, and what the balancer and the ejection
 * rules know about it. Mutable on purpose: the data path updates the counts on every attempt, and
 * an object per endpoint (not per attempt) keeps that free of allocations.
 */
export interface Endpoint {
  /** `10.1.2.3:5002` or `[fd00::1]:5002`: the name in logs, /endpoints and a request's tried set. */
  readonly key: string;
  /** The IP address alone (no brackets). */
  readonly address: string;
  readonly port: number;
  /** Attempts sent to it that have not ended yet. */
  inFlight: number;
  /** Retryable outcomes in a row; a non-retryable one resets it. */
  consecutiveFailures: number;
  /** Clock time at which an ejection ends; undefined while the endpoint is in rotation. */
  ejectedUntil: number | undefined;
  /** True once a resolution no longer lists it: it gets no new attempts. */
  removed: boolean;
}

/** The endpoint's name: `ip:port`, an IPv6 address in brackets (RFC 3986 §3.2.2). */
export function endpointKey(address: string, port: number): string {
  // Only an IPv6 address holds a colon.
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export function newEndpoint(address: string, port: number): Endpoint {
  return {
    key: endpointKey(address, port),
    address,
    port,
    inFlight: 0,
    consecutiveFailures: 0,
    ejectedUntil: undefined,
    removed: false,
  };
}

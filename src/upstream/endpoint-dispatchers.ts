import { isIP } from "node:net";
import { Client, type Dispatcher, Pool } from "undici";
import type { Endpoint } from "../endpoints/endpoint.js";
import { trustedCas } from "./trusted-cas.js";

export interface EndpointDispatchersOptions {
  /** UPSTREAM_URL: its scheme, and its host for TLS (SNI and the certificate check). */
  readonly baseUrl: string;
  /** Extra PEM CAs (UPSTREAM_CA_FILE), trusted besides Node's roots and the system's (trusted-cas.ts). */
  readonly ca?: string | undefined;
  /** Longest silence between two chunks of a response body, ms. */
  readonly bodyTimeoutMs: number;
  /** Tests: one dispatcher (undici's MockAgent) for every endpoint, fresh or not. */
  readonly shared?: Dispatcher | undefined;
}

/**
 * The connections to the endpoints: a keep-alive Pool per endpoint, created on its first attempt,
 * and one-shot connections for a retry that goes back to an endpoint the request already tried.
 * Each connects to the endpoint's address, while TLS names the host of UPSTREAM_URL: the SNI
 * name and the certificate check use that host, never the IP (RFC 6066 §3 forbids an IP in SNI).
 */
export class EndpointDispatchers {
  private readonly pools = new Map<Endpoint, Pool>();
  private readonly oneShots = new Set<Client>();
  private readonly origins = new WeakMap<Endpoint, string>();
  private readonly protocol: string;
  private readonly options: Pool.Options;

  constructor(private readonly settings: EndpointDispatchersOptions) {
    const url = new URL(settings.baseUrl);
    this.protocol = url.protocol;
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const tls = {
      // An IP literal has no name to send: the check is then against the IP, as before.
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...(settings.ca === undefined ? {} : { ca: trustedCas(settings.ca) }),
    };
    this.options = {
      // Per-try timeouts belong to the data path; undici's own would race them.
      headersTimeout: 0,
      bodyTimeout: settings.bodyTimeoutMs,
      ...(url.protocol === "https:" ? { connect: tls } : {}),
    };
  }

  /** `http://10.1.2.3:5002`: where the connections of `endpoint` go (made once per endpoint). */
  originOf(endpoint: Endpoint): string {
    let origin = this.origins.get(endpoint);
    if (origin === undefined) {
      origin = `${this.protocol}//${endpoint.key}`;
      this.origins.set(endpoint, origin);
    }
    return origin;
  }

  /**
   * The dispatcher for one attempt to `endpoint`. `fresh`: a newly opened connection, used for
   * this attempt only and closed after it, so that a connection-level balancer in between
   * (kube-proxy behind a ClusterIP) picks a backend again. Otherwise the endpoint's keep-alive
   * pool. An endpoint already removed gets a one-shot connection too: its pool is closing.
   */
  dispatcherFor(endpoint: Endpoint, fresh: boolean): Dispatcher {
    if (this.settings.shared !== undefined) return this.settings.shared;
    if (fresh || endpoint.removed) return this.oneShot(endpoint);
    let pool = this.pools.get(endpoint);
    if (pool === undefined) {
      pool = new Pool(this.originOf(endpoint), this.options);
      this.pools.set(endpoint, pool);
    }
    return pool;
  }

  /**
   * `endpoint` left the list: its pool takes no new requests, lets those in flight finish, then
   * closes its connections (undici's close waits for them).
   */
  release(endpoint: Endpoint): Promise<void> {
    const pool = this.pools.get(endpoint);
    if (pool === undefined) return Promise.resolve();
    this.pools.delete(endpoint);
    return pool.close();
  }

  /**
   * New connections for `endpoint` from now on: its pool takes no new requests, lets those in
   * flight finish and closes; the next attempt opens a new pool, so that a connection-level
   * balancer in between picks a backend again for each of its connections.
   */
  renew(endpoint: Endpoint): void {
    const pool = this.pools.get(endpoint);
    if (pool === undefined) return;
    this.pools.delete(endpoint);
    void pool.close();
  }

  /** Shutdown: aborts whatever is still running and closes every connection. */
  async destroy(): Promise<void> {
    const all: Dispatcher[] = [...this.pools.values(), ...this.oneShots];
    this.pools.clear();
    this.oneShots.clear();
    await Promise.all(all.map((d) => d.destroy().catch(() => {})));
  }

  private oneShot(endpoint: Endpoint): Dispatcher {
    const client = new OneShotClient(this.originOf(endpoint), this.options, (done) =>
      this.oneShots.delete(done),
    );
    this.oneShots.add(client);
    return client;
  }
}

/**
 * A Client that carries one request: it starts closing as soon as the request is queued, and
 * undici's close lets that request finish before the connection goes. Dispatch on it at once.
 */
class OneShotClient extends Client {
  constructor(
    origin: string,
    options: Client.Options,
    private readonly onClosed: (client: OneShotClient) => void,
  ) {
    super(origin, options);
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const accepted = super.dispatch(options, handler);
    const closed = () => this.onClosed(this);
    this.close().then(closed, closed);
    return accepted;
  }
}

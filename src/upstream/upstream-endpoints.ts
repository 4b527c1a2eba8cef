import type { Dispatcher } from "undici";
import type { Config } from "../config/settings.js";
import type { Endpoint } from "../endpoints/endpoint.js";
import { type EndpointEvents, EndpointSet } from "../endpoints/endpoint-set.js";
import type { Clock, Random } from "../retry/clock.js";
import { serversResolve, systemResolve } from "./dns-resolve.js";
import { EndpointDispatchers } from "./endpoint-dispatchers.js";
import { EndpointRefresh, type RefreshEvents } from "./endpoint-refresh.js";

/** The endpoints of UPSTREAM_URL: who they are (DNS), their state (policy), their connections. */
export interface UpstreamEndpoints {
  readonly set: EndpointSet;
  readonly dispatchers: EndpointDispatchers;
  /** First resolution (bounded wait), then the periodic refresh. Call before listening. */
  start(): Promise<void>;
  /** Shutdown: stops the refresh timer and closes every endpoint connection. */
  stop(): Promise<void>;
}

export interface UpstreamEndpointsDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly events: EndpointEvents & RefreshEvents;
  /** Tests: one dispatcher (undici's MockAgent) for every endpoint. */
  readonly shared?: Dispatcher | undefined;
}

/** Builds the endpoint registry, the DNS refresh that feeds it and the per-endpoint pools. */
export function createUpstreamEndpoints(config: Config, deps: UpstreamEndpointsDeps): UpstreamEndpoints {
  const url = new URL(config.upstreamUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
  const dispatchers = new EndpointDispatchers({
    baseUrl: config.upstreamUrl,
    ca: config.upstreamCa,
    bodyTimeoutMs: config.perTryTimeoutMs,
    shared: deps.shared,
  });
  const set = new EndpointSet(
    { host, port, ejectAfter: config.endpointEjectAfter, ejectMs: config.endpointEjectMs },
    deps.clock,
    deps.random,
    {
      ...deps.events,
      changed(added: readonly Endpoint[], removed: readonly Endpoint[], count: number) {
        deps.events.changed(added, removed, count);
        // A removed endpoint's pool lets its attempts in flight finish, then closes.
        for (const endpoint of removed) void dispatchers.release(endpoint);
      },
      stuck(endpoint: Endpoint, failures: number) {
        dispatchers.renew(endpoint);
        deps.events.stuck(endpoint, failures);
      },
    },
  );
  const refresh = new EndpointRefresh({
    host,
    intervalMs: config.upstreamDnsRefreshMs,
    resolve: config.upstreamDnsServers.length > 0 ? serversResolve(config.upstreamDnsServers) : systemResolve,
    apply: (addresses) => set.update(addresses),
    events: deps.events,
  });
  return {
    set,
    dispatchers,
    start: () => refresh.start(),
    stop: async () => {
      refresh.stop();
      await dispatchers.destroy();
    },
  };
}

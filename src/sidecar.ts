import { getRequestListener } from "@hono/node-server";
import type pino from "pino";
import type { Dispatcher } from "undici";
import { publicConfig } from "./config/load-config.js";
import type { Config } from "./config/settings.js";
import type { UnknownSetting } from "./config/unknown-settings.js";
import { trackAttempts } from "./endpoints/attempt-tracker.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { createObserver } from "./observability/observer.js";
import { OverloadProtection } from "./overload/overload-protection.js";
import type { ForwardDeps } from "./proxy/forward-request.js";
import { InFlight } from "./proxy/in-flight.js";
import type { Clock, Random, Sleep } from "./retry/clock.js";
import { TokenRetryThrottle } from "./retry/retry-throttle.js";
import { createRouteGuards, type RouteGuards } from "./retry/route-guards.js";
import { newId, realClock, realRandom, realSleep } from "./runtime/real-time.js";
import { createAdminApp } from "./server/admin-app.js";
import { drain } from "./server/drain.js";
import { listen } from "./server/listen.js";
import { createProxyApp } from "./server/proxy-app.js";
import { createProxyListener } from "./server/proxy-listener.js";
import { UpstreamClient } from "./upstream/upstream-client.js";
import { createUpstreamEndpoints, type UpstreamEndpoints } from "./upstream/upstream-endpoints.js";

/**
 * What tests, the demo and the bench may replace (production uses the defaults), and what main.ts
 * found in the environment before start-up.
 */
export interface SidecarOverrides {
  readonly clock?: Clock;
  readonly sleep?: Sleep;
  readonly random?: Random;
  readonly logDestination?: pino.DestinationStream;
  readonly dispatcher?: Dispatcher;
  /** Environment variables that look like mistyped settings (main.ts finds them): logged at warn. */
  readonly unknownSettings?: readonly UnknownSetting[];
}

export interface Sidecar {
  readonly proxyPort: number;
  readonly adminPort: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** The upstream's endpoints: the registry (state, choice) and their connections. */
  readonly endpoints: UpstreamEndpoints;
  /** Drains (readyz 503, no new connections, in-flight finish within the grace period) and stops. */
  shutdown(): Promise<void>;
}

// A client gets this long to send its request headers; the whole request (body included) may
// take the request deadline plus the same again. Both stop slow-loris clients holding sockets.
const CLIENT_HEADERS_TIMEOUT_MS = 10_000;

// Above this a limit is lifted altogether: no sidecar keeps a thousand attempts in flight.
const OVERLOAD_MAX_LIMIT = 1000;

function overloadOptions(config: Config) {
  return {
    enabled: config.overloadProtection === "on",
    lateMs: config.overloadLateRatio * config.perTryTimeoutMs,
    perTryTimeoutMs: config.perTryTimeoutMs,
    decrease: config.overloadDecrease,
    recoveryMs: config.overloadRecoveryMs,
    minLimit: config.overloadMinLimit,
    maxLimit: OVERLOAD_MAX_LIMIT,
    retryShare: config.overloadRetryShare,
    blindRetries: config.overloadBlindRetries === "on",
  };
}

/** Builds every part from the configuration and starts both listeners. */
export async function startSidecar(config: Config, overrides: SidecarOverrides = {}): Promise<Sidecar> {
  const clock = overrides.clock ?? realClock;
  const logger = createLogger(config.logLevel, overrides.logDestination);
  for (const { name, didYouMean } of overrides.unknownSettings ?? []) {
    logger.warn({ name, didYouMean }, "unknown setting");
  }
  const metrics = createMetrics(config.routes);
  const observer = createObserver(metrics, logger, config.logRequests);
  const random = overrides.random ?? realRandom;
  const endpoints = createUpstreamEndpoints(config, {
    clock,
    random,
    events: observer,
    shared: overrides.dispatcher,
  });
  metrics.onEndpointsScrape(() => endpoints.set.counts());
  const retryOnStatus = new Set(config.retryOnStatus);
  const upstream = new UpstreamClient({
    baseUrl: config.upstreamUrl,
    bodyTimeoutMs: config.perTryTimeoutMs,
    dispatchers: endpoints.dispatchers,
    tracker: trackAttempts(endpoints.set, retryOnStatus),
  });
  const guards = createRouteGuards(
    config.routes,
    {
      failureThreshold: config.circuitFailureThreshold,
      openMs: config.circuitOpenMs,
      budgetRatio: config.retryBudgetRatio,
      budgetMinPerSec: config.retryBudgetMinPerSec,
    },
    clock,
    (route, state) => observer.circuit(route, state),
  );
  metrics.onCircuitScrape(() => {
    for (const { breaker } of guards.values()) breaker.current();
  });
  // One per upstream: every route and endpoint share the upstream's capacity.
  const overload = new OverloadProtection(overloadOptions(config), clock);
  metrics.onOverloadScrape({ inFlight: () => overload.inFlight, limit: () => overload.currentLimit() });
  const inFlight = new InFlight();
  const forward: ForwardDeps = {
    settings: {
      maxRetries: config.maxRetries,
      requestTimeoutMs: config.requestTimeoutMs,
      maxBodyBytes: config.maxBodyBytes,
      idempotencyHeader: config.idempotencyHeader.toLowerCase(), // as Node's headers are
    },
    policy: {
      retryOnStatus,
      backoff: { baseMs: config.backoffBaseMs, maxMs: config.backoffMaxMs, jitter: config.backoffJitter },
      retryAfterMaxMs: config.retryAfterMaxMs,
      perTryTimeoutMs: config.perTryTimeoutMs,
    },
    retry: {
      clock,
      sleep: overrides.sleep ?? realSleep,
      random,
      // One per upstream: every route and endpoint shares what the upstream has been answering.
      throttle:
        config.retryThrottle === "on"
          ? new TokenRetryThrottle({
              tokens: config.retryThrottleTokens,
              ratio: config.retryThrottleRatio,
              probeRatio: config.retryThrottleProbeRatio,
            })
          : undefined,
      overload,
      events: observer,
    },
    upstream,
    overload,
    endpoints: endpoints.set,
    guardsFor: (route) => guards.get(route) as RouteGuards,
    clock,
    newId,
    inFlight,
    completed: observer.completed,
  };

  // Before listening: the first requests find the endpoints already resolved.
  await endpoints.start();

  let ready = true;
  // Filled once the port is known (PORT=0 picks one): an absolute-form target naming the sidecar
  // itself is an ordinary request (RFC 9112 §3.2.2); one naming any other host is refused.
  const authorities = new Set<string>();
  const proxyApp = createProxyApp({ routes: config.routes, ownAuthorities: authorities, forward, logger });
  const proxyListener = createProxyListener(proxyApp);
  const proxy = await listen(proxyListener.listener, {
    host: config.listenHost,
    port: config.port,
    headersTimeoutMs: CLIENT_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.requestTimeoutMs * 2,
  });
  for (const name of [config.listenHost, "localhost", "127.0.0.1", "[::1]"]) {
    authorities.add(`${name}:${proxy.port}`.toLowerCase());
  }

  const adminApp = createAdminApp({
    registry: metrics.registry,
    isReady: () => ready,
    config: publicConfig(config),
    endpoints: () => endpoints.set.view(),
  });
  const admin = await listen(getRequestListener(adminApp.fetch), {
    host: config.adminHost,
    port: config.adminPort,
    headersTimeoutMs: CLIENT_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: 30_000,
  });
  logger.info(
    {
      proxy: `${config.listenHost}:${proxy.port}`,
      admin: `${config.adminHost}:${admin.port}`,
      upstream: publicConfig(config).UPSTREAM_URL,
      routes: config.routes,
    },
    "retry-sidecar listening",
  );

  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    ready = false; // /readyz answers 503 from this moment
    stopping ??= drain({
      proxy: proxy.server,
      admin: admin.server,
      inFlight,
      graceMs: config.shutdownGraceMs,
      startDraining: proxyListener.startDraining,
      closeUpstream: () => endpoints.stop(),
      logger,
    });
    return stopping;
  };

  return { proxyPort: proxy.port, adminPort: admin.port, metrics, logger, endpoints, shutdown };
}

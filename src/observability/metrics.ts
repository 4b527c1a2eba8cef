import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { SkipReason } from "../retry/outcome.js";
import { buildInfo } from "./build-info.js";
import { PendingCounts } from "./pending-counts.js";
import { PendingHistograms } from "./pending-histograms.js";

export const SKIP_REASONS: readonly SkipReason[] = [
  "budget",
  "throttled",
  "deadline",
  "retry_after_too_long",
  "circuit_open",
  "client_gone",
  "body_too_large",
  "not_idempotent",
  "overloaded",
];

/**
 * The `reason`s of the router's own refusals: of requests that match no route or whose target is
 * refused (route="none"), and of an ambiguous header or an unmet expectation (under the route the
 * path names, or "none"). Their series exist for "none" and, through LOCAL_REPLY_REASONS, for every
 * route.
 */
export const UNROUTED_REPLY_REASONS = [
  "no_route",
  "bad_request",
  "ambiguous_header",
  "expectation_failed",
] as const;
/**
 * The `reason`s of answers to what never reached the router (server/socket-replies.ts), besides
 * bad_request: CONNECT, and requests Node's parser refused as too large or too slow (route="none").
 */
export const SOCKET_REPLY_REASONS = [
  "connect_not_supported",
  "headers_too_large",
  "chunk_extensions_too_large",
  "request_timeout",
] as const;
/**
 * The `reason`s of the sidecar's own answers (their JSON body's): the series that exist from
 * start-up, for every route ("none" has the unrouted ones). The counter takes any reason a local
 * answer carries.
 */
export const LOCAL_REPLY_REASONS = [
  ...UNROUTED_REPLY_REASONS,
  "circuit_open",
  "overloaded",
  "connect_error",
  "reset",
  "timeout",
  "shutdown",
  "internal",
] as const;

// Client-facing latency includes retries and waits (up to REQUEST_TIMEOUT_MS, 20 s by default),
// so the buckets reach past prom-client's default 10 s.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30];
// One attempt: from a loopback upstream's millisecond to PER_TRY_TIMEOUT_MS (5 s by default).
const ATTEMPT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What overload protection shows at each scrape: attempts in flight, and its limit (+Inf: none). */
export interface OverloadView {
  inFlight(): number;
  limit(): number;
}

/** The metrics of docs/contract.md "Metrics", on their own registry. Names and labels are fixed. */
export function createMetrics(routes: readonly string[]) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // An open circuit turns half-open by the clock alone, with no request to notice: the wiring
  // registers a refresh of the breakers that runs before each read of the circuit gauge.
  let refreshCircuits = () => {};
  // The endpoints gauge is read from the endpoint registry at each scrape (an ejection ends by the
  // clock alone, like an open circuit); the wiring registers where the counts come from.
  let endpointCounts = (): { active: number; ejected: number } => ({ active: 0, ejected: 0 });
  // Overload protection's count and limit, read at each scrape (the limit regrows by the clock).
  let overload: OverloadView = { inFlight: () => 0, limit: () => Number.POSITIVE_INFINITY };
  // The two counters every request increments keep their increments pending until a scrape.
  const pendingRequests = new PendingCounts();
  const pendingAttempts = new PendingCounts();
  // The two histograms every request observes keep their bucket counts pending until a scrape
  // (pending-histograms.ts; set up below, once the histograms exist).
  let flushDurations = () => {};
  let flushAttemptDurations = () => {};
  const metrics = {
    registry,
    pendingRequests,
    pendingAttempts,
    requests: new Counter({
      name: "retry_sidecar_requests_total",
      help: "Responses sent to clients.",
      labelNames: ["route", "method", "code"] as const,
      registers: [registry],
      collect: () => pendingRequests.flush(),
    }),
    duration: new Histogram({
      name: "retry_sidecar_request_duration_seconds",
      help: "Client-facing latency, retries included.",
      labelNames: ["route", "method", "code"] as const,
      buckets: DURATION_BUCKETS,
      registers: [registry],
      collect: () => flushDurations(),
    }),
    attempts: new Counter({
      name: "retry_sidecar_upstream_attempts_total",
      help: "Upstream attempts by outcome: status code, timeout, connect_error or reset.",
      labelNames: ["route", "outcome"] as const,
      registers: [registry],
      collect: () => pendingAttempts.flush(),
    }),
    retries: new Counter({
      name: "retry_sidecar_retries_total",
      help: "Retries started, by the outcome that caused them.",
      labelNames: ["route", "reason"] as const,
      registers: [registry],
    }),
    retrySuccess: new Counter({
      name: "retry_sidecar_retry_success_total",
      help: "Requests that ended non-retryable after at least one retry.",
      labelNames: ["route"] as const,
      registers: [registry],
    }),
    retriesExhausted: new Counter({
      name: "retry_sidecar_retries_exhausted_total",
      help: "Requests that ended retryable after all their retries.",
      labelNames: ["route"] as const,
      registers: [registry],
    }),
    retriesSkipped: new Counter({
      name: "retry_sidecar_retries_skipped_total",
      help: "Retries not made, by reason.",
      labelNames: ["route", "reason"] as const,
      registers: [registry],
    }),
    localReplies: new Counter({
      name: "retry_sidecar_local_replies_total",
      help: "Answers the sidecar made itself, by the reason of their JSON body.",
      labelNames: ["route", "reason"] as const,
      registers: [registry],
    }),
    buildInfo: new Gauge({
      name: "retry_sidecar_build_info",
      help: "1, labelled with the sidecar's version and the Node.js version running it.",
      labelNames: ["version", "node"] as const,
      registers: [registry],
    }),
    requestsShed: new Counter({
      name: "retry_sidecar_requests_shed_total",
      help: "Requests answered 503 overloaded without an upstream attempt (overload protection).",
      labelNames: ["route"] as const,
      registers: [registry],
    }),
    attemptDuration: new Histogram({
      name: "retry_sidecar_upstream_attempt_duration_seconds",
      help: "One upstream attempt, from sending it to its response headers or its failure.",
      labelNames: ["route", "outcome"] as const,
      buckets: ATTEMPT_BUCKETS,
      registers: [registry],
      collect: () => flushAttemptDurations(),
    }),
    upstreamInFlight: new Gauge({
      name: "retry_sidecar_upstream_in_flight",
      help: "Attempts in flight to the upstream now.",
      registers: [registry],
      collect() {
        this.set(overload.inFlight());
      },
    }),
    concurrencyLimit: new Gauge({
      name: "retry_sidecar_upstream_concurrency_limit",
      help: "The limit overload protection sets on attempts in flight now (+Inf: none, or protection off).",
      registers: [registry],
      collect() {
        this.set(overload.limit());
      },
    }),
    circuitState: new Gauge({
      name: "retry_sidecar_circuit_state",
      help: "Circuit breaker state per route: 0 closed, 1 open, 2 half-open.",
      labelNames: ["route"] as const,
      registers: [registry],
      collect: () => refreshCircuits(),
    }),
    upstreamEndpoints: new Gauge({
      name: "retry_sidecar_upstream_endpoints",
      help: "Endpoints of the upstream known now, by state: active or ejected.",
      labelNames: ["state"] as const,
      registers: [registry],
      collect() {
        const counts = endpointCounts();
        this.labels("active").set(counts.active);
        this.labels("ejected").set(counts.ejected);
      },
    }),
    endpointEjections: new Counter({
      name: "retry_sidecar_endpoint_ejections_total",
      help: "Times an endpoint was taken out of rotation after consecutive retryable outcomes.",
      registers: [registry],
    }),
    dnsResolutions: new Counter({
      name: "retry_sidecar_dns_resolutions_total",
      help: "Resolutions of the upstream host name, by result: ok or error.",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
  };
  const pendingDurations = new PendingHistograms(metrics.duration);
  const pendingAttemptDurations = new PendingHistograms(metrics.attemptDuration);
  flushDurations = () => pendingDurations.flush();
  flushAttemptDurations = () => pendingAttemptDurations.flush();
  const onCircuitScrape = (refresh: () => void) => {
    refreshCircuits = refresh;
  };
  // Series that alerts divide by or rate() over exist from the start, at zero (a missing series
  // would make "retries exhausted" silently match nothing until the first one happens).
  for (const route of routes) {
    metrics.retrySuccess.labels(route).inc(0);
    metrics.retriesExhausted.labels(route).inc(0);
    metrics.circuitState.labels(route).set(0);
    for (const reason of SKIP_REASONS) metrics.retriesSkipped.labels(route, reason).inc(0);
    for (const reason of LOCAL_REPLY_REASONS) metrics.localReplies.labels(route, reason).inc(0);
    metrics.requestsShed.labels(route).inc(0);
  }
  for (const reason of [...UNROUTED_REPLY_REASONS, ...SOCKET_REPLY_REASONS]) {
    metrics.localReplies.labels("none", reason).inc(0);
  }
  metrics.buildInfo.labels(buildInfo.version, buildInfo.node).set(1);
  const onEndpointsScrape = (counts: () => { active: number; ejected: number }) => {
    endpointCounts = counts;
  };
  metrics.upstreamEndpoints.labels("active").set(0);
  metrics.upstreamEndpoints.labels("ejected").set(0);
  metrics.endpointEjections.inc(0);
  for (const result of ["ok", "error"]) metrics.dnsResolutions.labels(result).inc(0);
  const onOverloadScrape = (view: OverloadView) => {
    overload = view;
  };
  return {
    ...metrics,
    pendingDurations,
    pendingAttemptDurations,
    onCircuitScrape,
    onEndpointsScrape,
    onOverloadScrape,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

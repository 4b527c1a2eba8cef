import type { Endpoint } from "../endpoints/endpoint.js";
import type { EndpointEvents } from "../endpoints/endpoint-set.js";
import type { RequestCompleted } from "../proxy/forward-request.js";
import type { CircuitState } from "../retry/circuit-breaker.js";
import { type SkipReason, statusLabel } from "../retry/outcome.js";
import type { RetryEvents } from "../retry/retry-loop.js";
import type { RefreshEvents } from "../upstream/endpoint-refresh.js";
import { type CompletedFields, createCompletedLineWriter } from "./completed-line.js";
import { type LogRequests, logsCompleted } from "./log-requests.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import { RouteSeries } from "./route-series.js";

const CIRCUIT_GAUGE: Record<CircuitState, number> = { closed: 0, open: 1, "half-open": 2 };

/**
 * Turns the retry loop's and the forwarder's events into metrics and log lines: the one place
 * that knows both what happened and how it is reported. `logRequests` is LOG_REQUESTS.
 */
export function createObserver(metrics: Metrics, logger: Logger, logRequests: LogRequests) {
  const byRoute = new Map<string, RouteSeries>();
  const seriesOf = (route: string): RouteSeries => {
    let series = byRoute.get(route);
    if (series === undefined) {
      series = new RouteSeries(metrics, route);
      byRoute.set(route, series);
    }
    return series;
  };
  const writeCompleted = createCompletedLineWriter(logger);
  const events: RetryEvents &
    EndpointEvents &
    RefreshEvents & {
      completed(event: RequestCompleted): void;
      circuit(route: string, state: CircuitState): void;
    } = {
    attempt(route: string, outcome: string, durationMs: number) {
      const series = seriesOf(route);
      series.attempt(outcome).inc();
      series.attemptDuration(outcome).observe(durationMs / 1000);
    },
    /** `endpoint`: the endpoint the retry goes to. */
    retry(
      route: string,
      requestId: string,
      attempt: number,
      delayMs: number,
      reason: string,
      endpoint?: string,
    ) {
      seriesOf(route).retry(reason).inc();
      const fields = { reqId: requestId, route, attempt, delayMs, reason };
      logger.info(endpoint === undefined ? fields : { ...fields, endpoint }, "upstream retry");
    },
    skipped(route: string, reason: SkipReason) {
      seriesOf(route).skipped(reason).inc();
    },
    completed(event: RequestCompleted) {
      const series = seriesOf(event.route);
      const answer = series.answer(event.method, statusLabel(event.status));
      answer.count.inc();
      answer.duration.observe(event.durationMs / 1000);
      if (event.retries > 0 && !event.retryable && event.stop === "not_retryable") {
        series.retrySuccess.inc();
      }
      // "exhausted" is one thing in the body, the log and the metric: the request ended retryable
      // after all the retries it was allowed, none included (x-retry-max: 0, MAX_RETRIES=0).
      if (event.stop === "exhausted") series.retriesExhausted.inc();
      if (event.localReason !== undefined) series.localReply(event.localReason).inc();
      if (event.stop === "overloaded" && event.attempts === 0) series.requestsShed.inc();
      if (!logsCompleted(logRequests, event)) return;
      const fields: CompletedFields = {
        reqId: event.requestId,
        route: event.route,
        method: event.method,
        path: event.path,
        status: event.status,
        attempts: event.attempts,
        durationMs: Math.round(event.durationMs),
      };
      // The endpoint of the last attempt; absent when none was made.
      if (event.endpoint !== undefined) fields.endpoint = event.endpoint;
      if (event.stop !== undefined && event.stop !== "not_retryable") fields.retryStopped = event.stop;
      const error = event.error;
      if (error !== undefined) {
        fields.error = { code: (error as { code?: string }).code, message: error.message };
      }
      writeCompleted(fields);
    },
    circuit(route: string, state: CircuitState) {
      metrics.circuitState.labels(route).set(CIRCUIT_GAUGE[state]);
      logger.warn({ route, state }, "circuit state changed");
    },
    changed(added: readonly Endpoint[], removed: readonly Endpoint[], count: number) {
      logger.info(
        { added: added.map((e) => e.key), removed: removed.map((e) => e.key), endpoints: count },
        "endpoints changed",
      );
    },
    ejected(endpoint: Endpoint, failures: number, ejectedMs: number) {
      metrics.endpointEjections.inc();
      logger.warn({ endpoint: endpoint.key, failures, ejectedMs }, "endpoint ejected");
    },
    stuck(endpoint: Endpoint, failures: number) {
      logger.warn({ endpoint: endpoint.key, failures }, "endpoint connections renewed");
    },
    restored(endpoint: Endpoint) {
      logger.info({ endpoint: endpoint.key }, "endpoint restored");
    },
    resolved() {
      metrics.dnsResolutions.labels("ok").inc();
    },
    failed(host: string, error: Error) {
      metrics.dnsResolutions.labels("error").inc();
      // Node's DNS errors name the query, the code and the name: "queryA ENOTFOUND billing.test".
      logger.warn({ host, error: error.message }, "dns resolution failed");
    },
  };
  return events;
}

export type Observer = ReturnType<typeof createObserver>;

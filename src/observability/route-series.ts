import type { Metrics } from "./metrics.js";
import type { PendingCount } from "./pending-counts.js";
import type { PendingHistogramSeries } from "./pending-histograms.js";

type CounterChild = ReturnType<Metrics["attempts"]["labels"]>;
type RouteCounter = { labels(route: string, label: string): CounterChild };

/** requests_total and request_duration_seconds of one route, method and code. */
export interface AnswerSeries {
  /** Pending until a scrape (pending-counts.ts). */
  readonly count: PendingCount;
  /** Pending until a scrape (pending-histograms.ts). */
  readonly duration: PendingHistogramSeries;
}

/**
 * The metric children of one route, bound once per series and kept: prom-client's labels()
 * builds a label object and a bound function on every call, which per request was allocation for
 * nothing. Every key is bounded (status codes, outcome kinds, the methods Node's parser accepts,
 * the reasons of the unions), as the series themselves are.
 */
export class RouteSeries {
  readonly retrySuccess: CounterChild;
  readonly retriesExhausted: CounterChild;
  readonly requestsShed: CounterChild;
  private readonly attempts = new Map<string, PendingCount>();
  private readonly attemptDurations = new Map<string, PendingHistogramSeries>();
  private readonly retries = new Map<string, CounterChild>();
  private readonly skips = new Map<string, CounterChild>();
  private readonly replies = new Map<string, CounterChild>();
  private readonly answers = new Map<string, Map<string, AnswerSeries>>();

  constructor(
    private readonly metrics: Metrics,
    readonly route: string,
  ) {
    this.retrySuccess = metrics.retrySuccess.labels(route);
    this.retriesExhausted = metrics.retriesExhausted.labels(route);
    this.requestsShed = metrics.requestsShed.labels(route);
  }

  /** upstream_attempts_total{route, outcome}, pending until a scrape (pending-counts.ts). */
  attempt(outcome: string): PendingCount {
    let cell = this.attempts.get(outcome);
    if (cell === undefined) {
      cell = this.metrics.pendingAttempts.of(this.metrics.attempts.labels(this.route, outcome));
      this.attempts.set(outcome, cell);
    }
    return cell;
  }

  /** upstream_attempt_duration_seconds{route, outcome}, pending until a scrape. */
  attemptDuration(outcome: string): PendingHistogramSeries {
    let cell = this.attemptDurations.get(outcome);
    if (cell === undefined) {
      cell = this.metrics.pendingAttemptDurations.of({ route: this.route, outcome });
      this.attemptDurations.set(outcome, cell);
    }
    return cell;
  }

  /** retries_total{route, reason} */
  retry(reason: string): CounterChild {
    return this.retries.get(reason) ?? this.bind(this.retries, this.metrics.retries, reason);
  }

  /** retries_skipped_total{route, reason} */
  skipped(reason: string): CounterChild {
    return this.skips.get(reason) ?? this.bind(this.skips, this.metrics.retriesSkipped, reason);
  }

  /** local_replies_total{route, reason} */
  localReply(reason: string): CounterChild {
    return this.replies.get(reason) ?? this.bind(this.replies, this.metrics.localReplies, reason);
  }

  /** requests_total and request_duration_seconds {route, method, code} */
  answer(method: string, code: string): AnswerSeries {
    let byCode = this.answers.get(method);
    if (byCode === undefined) {
      byCode = new Map();
      this.answers.set(method, byCode);
    }
    let series = byCode.get(code);
    if (series === undefined) {
      series = {
        count: this.metrics.pendingRequests.of(this.metrics.requests.labels(this.route, method, code)),
        duration: this.metrics.pendingDurations.of({ route: this.route, method, code }),
      };
      byCode.set(code, series);
    }
    return series;
  }

  private bind(cache: Map<string, CounterChild>, counter: RouteCounter, label: string): CounterChild {
    const child = counter.labels(this.route, label);
    cache.set(label, child);
    return child;
  }
}

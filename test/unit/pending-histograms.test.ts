import { Histogram, Registry } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { createObserver } from "../../src/observability/observer.js";
import { PendingHistograms } from "../../src/observability/pending-histograms.js";

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function histogramOn(registry: Registry, collect?: () => void) {
  return new Histogram({
    name: "h_seconds",
    help: "h",
    labelNames: ["route", "outcome"] as const,
    buckets: BUCKETS,
    registers: [registry],
    ...(collect === undefined ? {} : { collect }),
  });
}

describe("per-request histograms pending until a scrape", () => {
  it("a scrape shows what prom-client's own observe() shows, byte for byte (buckets, +Inf, _sum, _count)", async () => {
    const plainRegistry = new Registry();
    const plain = histogramOn(plainRegistry);
    const pendingRegistry = new Registry();
    let flush = () => {};
    const pending = new PendingHistograms(histogramOn(pendingRegistry, () => flush()));
    flush = () => pending.flush();
    // A series is made when first observed, as the observer makes them (the order of the series
    // in a scrape is that of their first observation, in both).
    const series = new Map<string, ReturnType<typeof pending.of>>();
    const seriesOf = (outcome: string) => {
      let cell = series.get(outcome);
      if (cell === undefined) {
        cell = pending.of({ route: "/a", outcome });
        series.set(outcome, cell);
      }
      return cell;
    };
    // Bounds themselves, values between them, above the last bound, zero, and floats whose sum
    // depends on the order of additions.
    const values = [
      ...BUCKETS,
      0,
      0.0004,
      0.0031,
      0.1 + 0.2,
      31,
      1e6,
      ...Array.from({ length: 500 }, (_, i) => (i * 0.7137) % 3.3),
    ];
    for (const [i, value] of values.entries()) {
      const outcome = i % 3 === 0 ? "timeout" : "200";
      plain.labels("/a", outcome).observe(value);
      seriesOf(outcome).observe(value);
      if (i === 100) {
        // A scrape in the middle, then more observations.
        expect(await pendingRegistry.metrics()).toBe(await plainRegistry.metrics());
      }
    }
    expect(await pendingRegistry.metrics()).toBe(await plainRegistry.metrics());
    expect(await pendingRegistry.metrics()).toBe(await plainRegistry.metrics());
    expect(await pendingRegistry.getMetricsAsJSON()).toEqual(await plainRegistry.getMetricsAsJSON());
  });

  it("refuses a value that is not a finite number, as observe() does", () => {
    const pending = new PendingHistograms(histogramOn(new Registry()));
    expect(() => pending.of({ route: "/a", outcome: "200" }).observe(Number.NaN)).toThrow(TypeError);
  });

  it("the observer calls neither labels() nor observe() of prom-client per request", async () => {
    const metrics = createMetrics(["/provider"]);
    const observer = createObserver(metrics, createLogger("error"), "none");
    const labels = [vi.spyOn(metrics.attemptDuration, "labels"), vi.spyOn(metrics.duration, "labels")];
    const observe = [vi.spyOn(metrics.attemptDuration, "observe"), vi.spyOn(metrics.duration, "observe")];
    for (let i = 0; i < 50; i++) {
      observer.attempt("/provider", "201", 3);
      observer.completed({
        requestId: "r",
        route: "/provider",
        method: "POST",
        path: "/provider",
        status: 201,
        attempts: 1,
        retries: 0,
        durationMs: 4,
        stop: "not_retryable",
        retryable: false,
      });
    }
    for (const spy of [...labels, ...observe]) expect(spy).not.toHaveBeenCalled();
    const text = await metrics.registry.metrics();
    const attempt = 'route="/provider",outcome="201"';
    expect(text).toContain(
      `retry_sidecar_upstream_attempt_duration_seconds_bucket{le="0.0025",${attempt}} 0`,
    );
    expect(text).toContain(
      `retry_sidecar_upstream_attempt_duration_seconds_bucket{le="0.005",${attempt}} 50`,
    );
    expect(text).toContain(`retry_sidecar_upstream_attempt_duration_seconds_count{${attempt}} 50`);
    const answer = 'route="/provider",method="POST",code="201"';
    expect(text).toContain(`retry_sidecar_request_duration_seconds_bucket{le="0.005",${answer}} 50`);
    expect(text).toContain(`retry_sidecar_request_duration_seconds_sum{${answer}} 0.2`);
    expect(text).toContain(`retry_sidecar_request_duration_seconds_count{${answer}} 50`);
  });
});

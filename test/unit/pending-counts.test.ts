import { describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { createObserver } from "../../src/observability/observer.js";

describe("per-request counters pending until a scrape", () => {
  it("prom-client's inc() is not called per request, and every scrape shows every request before it", async () => {
    const metrics = createMetrics(["/provider"]);
    const observer = createObserver(metrics, createLogger("error"), "none");
    const child = metrics.attempts.labels("/provider", "200");
    const labels = vi.spyOn(metrics.attempts, "labels").mockReturnValue(child);
    const inc = vi.spyOn(child, "inc");
    for (let i = 0; i < 50; i++) observer.attempt("/provider", "200", 3);
    expect(labels).toHaveBeenCalledTimes(1);
    expect(inc).not.toHaveBeenCalled();
    const series = 'retry_sidecar_upstream_attempts_total{route="/provider",outcome="200"}';
    expect(await metrics.registry.metrics()).toContain(`${series} 50`);
    expect(inc).toHaveBeenCalledTimes(1); // once per scrape, with the sum
    for (let i = 0; i < 7; i++) observer.attempt("/provider", "200", 3);
    expect(await metrics.registry.metrics()).toContain(`${series} 57`);
    expect(await metrics.registry.metrics()).toContain(`${series} 57`);
  });
});

import { describe, expect, it } from "vitest";
import { rawRequest } from "../support/raw-http.js";
import { useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";
import { SPEC_SETTINGS } from "../support/spec-settings.js";

// docs/contract.md "Admin listener" and "Metrics": /metrics, /healthz, /readyz, /config on their own
// port; the metric names, types and labels of the table; one count per response sent.

const scenario = useScenario({ status: 200, body: "ok" }, { BACKOFF_BASE_MS: "1", BACKOFF_JITTER: "0" });

async function scrape(h: Harness): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${h.adminUrl}/metrics`);
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

/** The sample lines of one metric as {labels, value}, from the text exposition. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    out.push({ labels, value: Number(match[3]) });
  }
  return out;
}

const SPEC_METRICS = [
  ["retry_sidecar_requests_total", "counter", ["code", "method", "route"]],
  ["retry_sidecar_request_duration_seconds", "histogram", ["code", "method", "route"]],
  ["retry_sidecar_upstream_attempts_total", "counter", ["outcome", "route"]],
  ["retry_sidecar_retries_total", "counter", ["reason", "route"]],
  ["retry_sidecar_retry_success_total", "counter", ["route"]],
  ["retry_sidecar_retries_exhausted_total", "counter", ["route"]],
  ["retry_sidecar_retries_skipped_total", "counter", ["reason", "route"]],
  ["retry_sidecar_circuit_state", "gauge", ["route"]],
  ["retry_sidecar_upstream_endpoints", "gauge", ["state"]],
  ["retry_sidecar_endpoint_ejections_total", "counter", []],
  ["retry_sidecar_dns_resolutions_total", "counter", ["result"]],
] as const;

describe("GET /metrics", () => {
  it("is Prometheus text with every metric of the spec table, its type and exactly its labels", async () => {
    const h = await scenario.start({ MAX_RETRIES: "1" });
    // Give every metric a series: a retry that succeeds, one that is exhausted.
    scenario.upstream.script({ status: 503 }, { status: 200 }, { status: 502 }, { status: 502 });
    await (await fetch(`${h.url}/provider`, { method: "POST", body: "a" })).arrayBuffer();
    await (await fetch(`${h.url}/provider`, { method: "POST", body: "b" })).arrayBuffer();

    const { status, type, text } = await scrape(h);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const [name, kind, labels] of SPEC_METRICS) {
      expect(text, name).toContain(`# TYPE ${name} ${kind}\n`);
      expect(text, name).toMatch(new RegExp(`^# HELP ${name} \\S`, "m"));
      const series = samples(text, kind === "histogram" ? `${name}_count` : name);
      expect(series.length, name).toBeGreaterThan(0);
      for (const s of series) expect(Object.keys(s.labels).sort(), name).toEqual([...labels]);
    }
    expect(samples(text, "retry_sidecar_upstream_attempts_total")).toEqual(
      expect.arrayContaining([
        { labels: { route: "/provider", outcome: "503" }, value: 1 },
        { labels: { route: "/provider", outcome: "502" }, value: 2 },
        { labels: { route: "/provider", outcome: "200" }, value: 1 },
      ]),
    );
    expect(samples(text, "retry_sidecar_retry_success_total")).toEqual([
      { labels: { route: "/provider" }, value: 1 },
    ]);
    expect(samples(text, "retry_sidecar_retries_exhausted_total")).toEqual([
      { labels: { route: "/provider" }, value: 1 },
    ]);
    expect(samples(text, "retry_sidecar_circuit_state")).toEqual([
      { labels: { route: "/provider" }, value: 0 },
    ]);
  });

  it("before any request, every route's series are there at 0 (rates and alerts never meet a missing series)", async () => {
    const h = await scenario.start({ ROUTES: "/provider,/invoice" });
    const { text } = await scrape(h);
    const zeroPerRoute = [
      { labels: { route: "/invoice" }, value: 0 },
      { labels: { route: "/provider" }, value: 0 },
    ];
    const byRoute = (name: string) =>
      samples(text, name).sort((a, b) => (a.labels.route ?? "").localeCompare(b.labels.route ?? ""));
    expect(byRoute("retry_sidecar_requests_shed_total")).toEqual(zeroPerRoute);
    expect(byRoute("retry_sidecar_retry_success_total")).toEqual(zeroPerRoute);
    expect(byRoute("retry_sidecar_retries_exhausted_total")).toEqual(zeroPerRoute);
    expect(byRoute("retry_sidecar_circuit_state")).toEqual(zeroPerRoute);
    expect(samples(text, "retry_sidecar_endpoint_ejections_total")).toEqual([{ labels: {}, value: 0 }]);
    expect(samples(text, "retry_sidecar_upstream_endpoints")).toEqual(
      expect.arrayContaining([
        { labels: { state: "active" }, value: 1 },
        { labels: { state: "ejected" }, value: 0 },
      ]),
    );
  });

  it("includes prom-client's default process_ and nodejs_ metrics", async () => {
    const h = await scenario.start();
    const { text } = await scrape(h);
    for (const name of [
      "process_cpu_user_seconds_total",
      "process_resident_memory_bytes",
      "process_start_time_seconds",
      "nodejs_heap_size_used_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_version_info",
    ]) {
      expect(text, name).toMatch(new RegExp(`^# TYPE ${name} `, "m"));
    }
  });
});

describe("requests_total and request_duration_seconds: one count per response sent", () => {
  it("counts each response by route, method and code, with its latency in the histogram", async () => {
    const h = await scenario.start({ MAX_RETRIES: "0" });
    scenario.upstream.script(
      { status: 201, delayMs: 120 },
      { status: 201 },
      { status: 404 },
      { reset: true },
    );
    const started = performance.now();
    for (const [method, target] of [
      ["POST", "/provider"],
      ["POST", "/provider/1"],
      ["GET", "/provider"],
      ["GET", "/provider"],
      ["DELETE", "/other"],
    ] as const) {
      await (await fetch(`${h.url}${target}`, { method })).arrayBuffer();
    }
    const elapsed = (performance.now() - started) / 1000;
    const { text } = await scrape(h);
    expect(samples(text, "retry_sidecar_requests_total")).toEqual(
      expect.arrayContaining([
        { labels: { route: "/provider", method: "POST", code: "201" }, value: 2 },
        { labels: { route: "/provider", method: "GET", code: "404" }, value: 1 },
        { labels: { route: "/provider", method: "GET", code: "502" }, value: 1 },
        { labels: { route: "none", method: "DELETE", code: "404" }, value: 1 },
      ]),
    );
    expect(samples(text, "retry_sidecar_requests_total").reduce((sum, s) => sum + s.value, 0)).toBe(5);

    const post = { route: "/provider", method: "POST", code: "201" };
    const count = samples(text, "retry_sidecar_request_duration_seconds_count");
    expect(count).toEqual(expect.arrayContaining([{ labels: post, value: 2 }]));
    expect(count.reduce((sum, s) => sum + s.value, 0)).toBe(5);
    const sum = samples(text, "retry_sidecar_request_duration_seconds_sum").find(
      (s) => JSON.stringify(s.labels) === JSON.stringify(post),
    );
    expect(sum?.value).toBeGreaterThanOrEqual(0.11); // the 120 ms upstream delay is in it
    expect(sum?.value).toBeLessThanOrEqual(elapsed);
    const buckets = samples(text, "retry_sidecar_request_duration_seconds_bucket").filter(
      (s) => s.labels.route === "/provider" && s.labels.method === "POST" && s.labels.code === "201",
    );
    expect(buckets.find((b) => b.labels.le === "+Inf")?.value).toBe(2);
    expect(buckets.find((b) => b.labels.le === "0.1")?.value).toBeLessThanOrEqual(1);
  });

  it("counts a retried request once, with the latency of all its attempts", async () => {
    const h = await scenario.start({ BACKOFF_BASE_MS: "100" });
    scenario.upstream.script({ status: 503 });
    await (await fetch(`${h.url}/provider`)).arrayBuffer();
    expect(await h.metric("retry_sidecar_requests_total")).toBe(1);
    expect(
      await h.metric("retry_sidecar_requests_total", { route: "/provider", method: "GET", code: "200" }),
    ).toBe(1);
    const { text } = await scrape(h);
    const sum = samples(text, "retry_sidecar_request_duration_seconds_sum")[0];
    expect(sum?.value).toBeGreaterThanOrEqual(0.095);
  });
});

describe("probes and /config", () => {
  it("GET /healthz and /readyz answer 200 while serving", async () => {
    const h = await scenario.start();
    const health = await fetch(`${h.adminUrl}/healthz`);
    expect(health.status).toBe(200);
    await health.arrayBuffer();
    const ready = await fetch(`${h.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    await ready.arrayBuffer();
  });

  it("GET /config is the effective configuration as JSON, credentials of UPSTREAM_URL redacted", async () => {
    const h = await scenario.start({
      UPSTREAM_URL: `http://billinguser:s3cret-Pa55@127.0.0.1:${scenario.upstream.port}/base`,
      MAX_RETRIES: "2",
      ROUTES: "/provider,/invoice",
      IDEMPOTENCY_HEADER: "X-Dedupe-Id",
    });
    const res = await fetch(`${h.adminUrl}/config`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const text = await res.text();
    expect(text).not.toContain("s3cret-Pa55");
    expect(text).not.toContain("billinguser");
    const config = JSON.parse(text) as Record<string, unknown>;
    expect(config.UPSTREAM_URL).toBe(`http://REDACTED:REDACTED@127.0.0.1:${scenario.upstream.port}/base`);
    expect(config.MAX_RETRIES).toBe(2);
    expect(config.ROUTES).toEqual(["/provider", "/invoice"]);
    expect(config.RETRY_ON_STATUS).toEqual([408, 429, 500, 502, 503, 504]);
    expect(config.IDEMPOTENCY_HEADER).toBe("X-Dedupe-Id"); // as given, not lower-cased
    // Under the variable names an operator sets, and nothing else.
    expect(Object.keys(config)).toEqual(SPEC_SETTINGS.map((s) => s.variable));
    // The redacted credentials are not leaked elsewhere either.
    expect(JSON.stringify(h.logs)).not.toContain("s3cret-Pa55");
    expect((await scrape(h)).text).not.toContain("s3cret-Pa55");
  });

  it.each(["/", "/metricsx", "/admin", "/config/x", "/provider"])(
    "answers unknown admin path %s with a JSON 404",
    async (path) => {
      const h = await scenario.start();
      const res = await fetch(`${h.adminUrl}${path}`);
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(typeof ((await res.json()) as { error?: unknown }).error).toBe("string");
      expect(scenario.upstream.received).toHaveLength(0);
    },
  );

  it("serves the admin paths on the admin port only, not on the proxy port", async () => {
    const h = await scenario.start();
    for (const path of ["/metrics", "/healthz", "/readyz", "/config", "/endpoints"]) {
      const res = await rawRequest(h.sidecar.proxyPort, { target: path, headers: ["Host", "s"] });
      expect(res.status, path).toBe(404);
    }
    expect(scenario.upstream.received).toHaveLength(0);
  });
});

import { describe, expect, it } from "vitest";
import { useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";

// The 11 behaviours the old in-process Python client (httpx) was tested for, now proven
// against the real sidecar in front of a real upstream on 127.0.0.1. Backoff is shortened
// (BACKOFF_BASE_MS) except in the one test that checks the default 0.5 s / 1 s timing.

const scenario = useScenario({
  status: 201,
  body: '{"id":1}',
  headers: { "content-type": "application/json" },
});

const post = (h: Harness, path = "/provider") =>
  fetch(`${h.url}${path}`, {
    method: "POST",
    body: '{"name":"acme"}',
    headers: { "content-type": "application/json" },
  });

describe("the old client's behaviours", () => {
  it.each([500, 502, 503, 504])("retries a %i and returns the recovered answer", async (status) => {
    const h = await scenario.start();
    scenario.upstream.script({ status });
    const res = await post(h);
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('{"id":1}');
    expect(res.headers.get("x-attempt-count")).toBe("2");
    expect(scenario.upstream.received).toHaveLength(2);
  });

  it.each([400, 404])("never retries a %i", async (status) => {
    const h = await scenario.start();
    scenario.upstream.script({ status, body: "nope" });
    const res = await post(h);
    expect(res.status).toBe(status);
    expect(await res.text()).toBe("nope");
    expect(res.headers.get("x-attempt-count")).toBe("1");
    expect(scenario.upstream.received).toHaveLength(1);
  });

  it("waits 0.5 s then 1 s between attempts by default", async () => {
    const h = await scenario.start({ BACKOFF_BASE_MS: "500" });
    scenario.upstream.script({ status: 503 }, { status: 503 });
    const res = await post(h);
    expect(res.status).toBe(201);
    const [a, b, c] = scenario.upstream.received.map((r) => r.at) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(490);
    expect(b - a).toBeLessThan(900);
    expect(c - b).toBeGreaterThanOrEqual(990);
    expect(c - b).toBeLessThan(1500);
  });

  it("honours Retry-After instead of the backoff", async () => {
    const h = await scenario.start({ BACKOFF_BASE_MS: "5000" });
    scenario.upstream.script({ status: 429, headers: { "retry-after": "1" } });
    const res = await post(h);
    expect(res.status).toBe(201);
    const [a, b] = scenario.upstream.received.map((r) => r.at) as [number, number];
    expect(b - a).toBeGreaterThanOrEqual(990);
    expect(b - a).toBeLessThan(2000);
  });

  it("gives up after 4 attempts and passes the last response through", async () => {
    const h = await scenario.start();
    scenario.upstream.fallback = { status: 503, body: "still down", headers: { "x-upstream": "last" } };
    const res = await post(h);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("still down");
    expect(res.headers.get("x-upstream")).toBe("last");
    expect(res.headers.get("x-attempt-count")).toBe("4");
    expect(scenario.upstream.received).toHaveLength(4);
    expect(await h.metric("retry_sidecar_retries_exhausted_total", { route: "/provider" })).toBe(1);
  });

  it("recovers from a timeout", async () => {
    const h = await scenario.start({ PER_TRY_TIMEOUT_MS: "100" });
    scenario.upstream.script({ status: 201, body: "late", delayMs: 1000 });
    const res = await post(h);
    expect(res.status).toBe(201);
    expect(await res.text()).toBe('{"id":1}');
    expect(await h.metric("retry_sidecar_upstream_attempts_total", { outcome: "timeout" })).toBe(1);
  });

  it("recovers from a connection error", async () => {
    const h = await scenario.start();
    scenario.upstream.script({ reset: true });
    const res = await post(h);
    expect(res.status).toBe(201);
    expect(res.headers.get("x-attempt-count")).toBe("2");
    expect(await h.metric("retry_sidecar_upstream_attempts_total", { outcome: "reset" })).toBe(1);
  });
});

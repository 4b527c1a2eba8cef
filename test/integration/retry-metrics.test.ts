import { describe, expect, it } from "vitest";
import { send, useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";

// docs/contract.md "Metrics": retries_total{route,reason} counts retries started, reason as the outcome that
// caused them (status code, timeout, connect_error, reset); upstream_attempts_total{route,outcome}
// counts attempts; retry_success_total{route} counts requests that ended non-retryable after at
// least one retry; `route` is the matched prefix, never the raw path.
// (connect_error is in final-failures.test.ts: a refused connection cannot be followed by a success
// on the same port without a race.)

const s = useScenario({ status: 201, body: "created" });

const route = "/provider";
const retries = (h: Harness, reason: string) => h.metric("retry_sidecar_retries_total", { route, reason });
const attempts = (h: Harness, outcome: string) =>
  h.metric("retry_sidecar_upstream_attempts_total", { route, outcome });

describe("retry metrics", () => {
  it("labels each retry with the outcome that caused it and counts the recovery", async () => {
    const h = await s.start({ PER_TRY_TIMEOUT_MS: "300" });
    s.upstream.script({ status: 503 }, { status: 200, delayMs: 2000 }, { reset: true });
    const reply = await send(h, "/provider/42?x=1");
    expect(reply.status).toBe(201);
    expect(reply.attempts).toBe(4);

    expect(await retries(h, "503")).toBe(1);
    expect(await retries(h, "timeout")).toBe(1);
    expect(await retries(h, "reset")).toBe(1);
    expect(await h.metric("retry_sidecar_retries_total")).toBe(3);

    expect(await attempts(h, "503")).toBe(1);
    expect(await attempts(h, "timeout")).toBe(1);
    expect(await attempts(h, "reset")).toBe(1);
    expect(await attempts(h, "201")).toBe(1);
    expect(await h.metric("retry_sidecar_upstream_attempts_total")).toBe(4);

    expect(await h.metric("retry_sidecar_retry_success_total", { route })).toBe(1);
    expect(await h.metric("retry_sidecar_retries_exhausted_total", { route })).toBe(0);
    expect(await h.metric("retry_sidecar_requests_total", { route, method: "POST", code: "201" })).toBe(1);
  });

  it("labels 408, 429 and 5xx retries by status code", async () => {
    const h = await s.start();
    s.upstream.script({ status: 408 }, { status: 429 }, { status: 502 });
    expect((await send(h)).attempts).toBe(4);
    for (const reason of ["408", "429", "502"]) expect(await retries(h, reason)).toBe(1);
    expect(await h.metric("retry_sidecar_retry_success_total", { route })).toBe(1);
  });

  it("counts no retry success for a request that needed no retry, or ended retryable", async () => {
    const h = await s.start({ MAX_RETRIES: "1" });
    await send(h);
    s.upstream.script({ status: 500 }, { status: 500 });
    expect((await send(h)).status).toBe(500);
    expect(await h.metric("retry_sidecar_retry_success_total", { route })).toBe(0);
    expect(await h.metric("retry_sidecar_retries_exhausted_total", { route })).toBe(1);
    expect(await attempts(h, "500")).toBe(2);
    expect(await attempts(h, "201")).toBe(1);
  });

  it("a retry ending in a non-retryable error still counts as a retry success", async () => {
    const h = await s.start();
    s.upstream.script({ status: 503 }, { status: 404 });
    expect((await send(h)).status).toBe(404);
    expect(await h.metric("retry_sidecar_retry_success_total", { route })).toBe(1);
  });

  it("shows the series on the admin /metrics exposition with the matched route", async () => {
    const h = await s.start();
    s.upstream.script({ status: 503 });
    await send(h, "/provider/7");
    const text = await (await fetch(`${h.adminUrl}/metrics`)).text();
    expect(text).toContain('retry_sidecar_retries_total{route="/provider",reason="503"} 1');
    expect(text).toContain('retry_sidecar_upstream_attempts_total{route="/provider",outcome="503"} 1');
    expect(text).toContain('retry_sidecar_upstream_attempts_total{route="/provider",outcome="201"} 1');
    expect(text).toContain('retry_sidecar_retry_success_total{route="/provider"} 1');
    expect(text).not.toContain('route="/provider/7"');
  });
});

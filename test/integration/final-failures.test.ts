import { describe, expect, it } from "vitest";
import { closedPort, FAST_ENV, json, send, useScenario } from "../support/scenario.js";
import { startHarness } from "../support/sidecar-harness.js";

// docs/contract.md "When it retries": a final outcome without any upstream response is a 502 (connection
// refused/reset) or a 504 (timeout) with a JSON body {"error", "reason", "attempts"}, and the
// client's x-attempt-count says how many attempts were made.

const s = useScenario();

describe("final failures without an upstream response", () => {
  it("connection refused on every attempt: 502 connect_error after 4 attempts", async () => {
    const port = await closedPort();
    const h = await startHarness({ UPSTREAM_URL: `http://127.0.0.1:${port}`, ...FAST_ENV });
    try {
      const reply = await send(h, "/provider", { headers: { "x-request-id": "refused-1" } });
      expect(reply.status).toBe(502);
      expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
      expect(reply.attempts).toBe(4);
      expect(reply.headers.get("x-request-id")).toBe("refused-1");
      const body = json(reply);
      expect(body).toMatchObject({ reason: "connect_error", attempts: 4 });
      expect(typeof body.error).toBe("string");
      expect(body.error).not.toBe("");
      expect(
        await h.metric("retry_sidecar_upstream_attempts_total", {
          route: "/provider",
          outcome: "connect_error",
        }),
      ).toBe(4);
      expect(
        await h.metric("retry_sidecar_retries_total", { route: "/provider", reason: "connect_error" }),
      ).toBe(3);
      expect(await h.metric("retry_sidecar_retries_exhausted_total", { route: "/provider" })).toBe(1);
      expect(
        await h.metric("retry_sidecar_requests_total", { route: "/provider", method: "POST", code: "502" }),
      ).toBe(1);
    } finally {
      await h.close();
    }
  });

  it("no response headers in time on every attempt: 504 timeout after 4 attempts", async () => {
    const h = await s.start({ PER_TRY_TIMEOUT_MS: "80" });
    s.upstream.fallback = { status: 200, body: "too late", delayMs: 2000 };
    const reply = await send(h);
    expect(reply.status).toBe(504);
    expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
    expect(reply.attempts).toBe(4);
    const body = json(reply);
    expect(body).toMatchObject({ reason: "timeout", attempts: 4 });
    expect(typeof body.error).toBe("string");
    expect(s.upstream.received).toHaveLength(4);
    // 4 x 80 ms of waiting for headers plus 10 + 20 + 40 ms of backoff; never the upstream's 2 s.
    expect(reply.elapsedMs).toBeGreaterThanOrEqual(4 * 80 + 70 - 5);
    expect(reply.elapsedMs).toBeLessThan(2000);
    expect(await h.metric("retry_sidecar_upstream_attempts_total", { outcome: "timeout" })).toBe(4);
    expect(await h.metric("retry_sidecar_retries_total", { reason: "timeout" })).toBe(3);
  });

  it("every attempt reset: 502 reset after 4 attempts", async () => {
    const h = await s.start();
    s.upstream.fallback = { reset: true };
    const reply = await send(h);
    expect(reply.status).toBe(502);
    expect(reply.attempts).toBe(4);
    expect(json(reply)).toMatchObject({ reason: "reset", attempts: 4 });
    expect(s.upstream.received).toHaveLength(4);
    expect(await h.metric("retry_sidecar_retries_total", { reason: "reset" })).toBe(3);
  });

  it("x-attempt-count on a 502 reflects a lowered retry limit", async () => {
    const h = await s.start();
    s.upstream.fallback = { reset: true };
    const reply = await send(h, "/provider", { headers: { "x-retry-max": "1" } });
    expect(reply.status).toBe(502);
    expect(reply.attempts).toBe(2);
    expect(json(reply)).toMatchObject({ reason: "reset", attempts: 2 });
  });
});

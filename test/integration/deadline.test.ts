import { describe, expect, it } from "vitest";
import { json, retryLogs, send, useScenario } from "../support/scenario.js";

// docs/contract.md "When it retries" (the deadline condition) and "Configuration": REQUEST_TIMEOUT_MS is the deadline for the
// whole request, all attempts and waits. A backoff that does not fit in what is left stops the
// retries (skipped reason "deadline"); an attempt's wait for headers never outlives the deadline.

const s = useScenario({ status: 503, body: "down" });

describe("REQUEST_TIMEOUT_MS deadline", () => {
  it("a backoff that does not fit in the time left stops the retries at once", async () => {
    // Backoff 500 then 1000 ms: the first fits in 1500 ms, the second (at ~500 ms) does not.
    const h = await s.start({ REQUEST_TIMEOUT_MS: "1500", BACKOFF_BASE_MS: "500" });
    const reply = await send(h);
    expect(reply.status).toBe(503);
    expect(reply.text).toBe("down");
    expect(reply.attempts).toBe(2);
    expect(s.upstream.received).toHaveLength(2);
    expect(reply.elapsedMs).toBeGreaterThanOrEqual(495);
    // Final as soon as it is known: not after the 500 + 1000 ms of backoff, nor at the deadline.
    expect(reply.elapsedMs).toBeLessThan(1450);
    expect(retryLogs(h).map((l) => l.delayMs)).toEqual([500]);
    expect(
      await h.metric("retry_sidecar_retries_skipped_total", { route: "/provider", reason: "deadline" }),
    ).toBe(1);
    expect(await h.metric("retry_sidecar_retries_exhausted_total")).toBe(0);
  });

  // PER_TRY_TIMEOUT_MS keeps its default (5000): set above REQUEST_TIMEOUT_MS it would be refused
  // as a contradiction, while the default yields to the deadline.
  it("the (default) per-try timeout is clipped by the deadline", async () => {
    const h = await s.start({ REQUEST_TIMEOUT_MS: "300" });
    s.upstream.script({ status: 200, body: "too late", delayMs: 3000 });
    const reply = await send(h);
    expect(reply.status).toBe(504);
    expect(json(reply)).toMatchObject({ reason: "timeout", attempts: 1 });
    expect(reply.attempts).toBe(1);
    expect(reply.elapsedMs).toBeGreaterThanOrEqual(290);
    expect(reply.elapsedMs).toBeLessThan(2500);
    expect(s.upstream.received).toHaveLength(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total", { reason: "deadline" })).toBe(1);
  });

  it("a retry's per-try timeout gets only what is left of the deadline", async () => {
    const h = await s.start({
      REQUEST_TIMEOUT_MS: "1000", // the per-try timeout keeps its default, 5000
      BACKOFF_BASE_MS: "100",
    });
    s.upstream.script({ status: 503 }, { status: 200, body: "too late", delayMs: 3000 });
    const reply = await send(h);
    expect(reply.status).toBe(504);
    expect(json(reply)).toMatchObject({ reason: "timeout", attempts: 2 });
    expect(reply.attempts).toBe(2);
    expect(reply.elapsedMs).toBeGreaterThanOrEqual(990);
    expect(reply.elapsedMs).toBeLessThan(2800);
    expect(await h.metric("retry_sidecar_upstream_attempts_total", { outcome: "timeout" })).toBe(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total", { reason: "deadline" })).toBe(1);
  });
});

import { describe, expect, it } from "vitest";
import { retryLogs, send, useScenario } from "../support/scenario.js";

// docs/contract.md "When it retries": with a valid Retry-After (delta-seconds or HTTP-date) the delay is
// exactly that long; one longer than RETRY_AFTER_MAX_MS (retry_after_too_long) or than the time
// left (deadline) makes the response final at once, its Retry-After kept; an unparsable or
// negative Retry-After is ignored (normal backoff). Delta-seconds "1" is in legacy-client-behaviours.

const s = useScenario({ status: 200, body: "recovered" });

describe("Retry-After", () => {
  it("an HTTP-date 1-2 s ahead is waited for until that instant", async () => {
    // BACKOFF_BASE_MS far from the date's wait, so that a fallback to backoff cannot pass.
    const h = await s.start({ BACKOFF_BASE_MS: "5000" });
    const target = Math.floor(Date.now() / 1000) * 1000 + 2000;
    s.upstream.script({ status: 503, headers: { "retry-after": new Date(target).toUTCString() } });
    const reply = await send(h);
    expect(reply.status).toBe(200);
    expect(reply.attempts).toBe(2);
    const [first, second] = s.upstream.received.map((r) => r.at) as [number, number];
    expect(target - first).toBeGreaterThan(900);
    expect(second).toBeGreaterThanOrEqual(target - 5);
    expect(second).toBeLessThan(target + 1000);
    const [log] = retryLogs(h);
    expect(log?.delayMs).toBeGreaterThan(target - first - 500);
    expect(log?.delayMs).toBeLessThanOrEqual(target - first);
  });

  it.each([
    ["IMF-fixdate", "Sun, 06 Nov 1994 08:49:37 GMT"],
    ["RFC 850", "Sunday, 06-Nov-94 08:49:37 GMT"],
    ["asctime", "Sun Nov  6 08:49:37 1994"],
  ])("an HTTP-date in the past (%s) means retry now, not the backoff", async (_form, date) => {
    const h = await s.start({ BACKOFF_BASE_MS: "5000" });
    s.upstream.script({ status: 503, headers: { "retry-after": date } });
    const reply = await send(h);
    expect(reply.status).toBe(200);
    expect(reply.attempts).toBe(2);
    expect(reply.elapsedMs).toBeLessThan(1000);
    expect(retryLogs(h).map((l) => l.delayMs)).toEqual([0]);
  });

  it("a Retry-After longer than RETRY_AFTER_MAX_MS is final at once, its Retry-After passed through", async () => {
    const h = await s.start({ RETRY_AFTER_MAX_MS: "1000" });
    s.upstream.script({ status: 503, body: "come back later", headers: { "retry-after": "30" } });
    const reply = await send(h);
    expect(reply.status).toBe(503);
    expect(reply.text).toBe("come back later");
    expect(reply.headers.get("retry-after")).toBe("30");
    expect(reply.attempts).toBe(1);
    expect(reply.elapsedMs).toBeLessThan(1000);
    expect(s.upstream.received).toHaveLength(1);
    expect(
      await h.metric("retry_sidecar_retries_skipped_total", {
        route: "/provider",
        reason: "retry_after_too_long",
      }),
    ).toBe(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total", { reason: "deadline" })).toBe(0);
    expect(await h.metric("retry_sidecar_retries_total")).toBe(0);
    expect(retryLogs(h)).toEqual([]);
  });

  it("a Retry-After equal to RETRY_AFTER_MAX_MS is still waited for", async () => {
    // The wait itself is recorded, not made: the boundary is the point here, not the timer.
    const waits: number[] = [];
    const h = await s.start(
      { RETRY_AFTER_MAX_MS: "1000", BACKOFF_BASE_MS: "5000" },
      { sleep: async (ms) => void waits.push(ms) },
    );
    s.upstream.script({ status: 429, headers: { "retry-after": "1" } });
    const reply = await send(h);
    expect(reply.status).toBe(200);
    expect(reply.attempts).toBe(2);
    expect(waits).toEqual([1000]);
    expect(retryLogs(h).map((l) => l.delayMs)).toEqual([1000]);
    expect(await h.metric("retry_sidecar_retries_skipped_total")).toBe(0);
  });

  it("a Retry-After longer than the time left of REQUEST_TIMEOUT_MS is final at once (deadline)", async () => {
    const h = await s.start({ REQUEST_TIMEOUT_MS: "5000" });
    s.upstream.script({ status: 429, body: "slow down", headers: { "retry-after": "10" } });
    const reply = await send(h);
    expect(reply.status).toBe(429);
    expect(reply.text).toBe("slow down");
    expect(reply.headers.get("retry-after")).toBe("10");
    expect(reply.attempts).toBe(1);
    expect(reply.elapsedMs).toBeLessThan(2500);
    expect(s.upstream.received).toHaveLength(1);
    expect(
      await h.metric("retry_sidecar_retries_skipped_total", { route: "/provider", reason: "deadline" }),
    ).toBe(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total", { reason: "retry_after_too_long" })).toBe(0);
  });

  it.each(["soon", "-1", "-5", "1.5", "", "Fri, 31 Dec 1999 23:59:59", "0x10"])(
    "an unparsable or negative Retry-After %j is ignored: normal backoff",
    async (value) => {
      const h = await s.start({ BACKOFF_BASE_MS: "30" });
      s.upstream.script({ status: 503, headers: { "retry-after": value } }, { status: 503 });
      const reply = await send(h);
      expect(reply.status).toBe(200);
      expect(reply.attempts).toBe(3);
      expect(retryLogs(h).map((l) => l.delayMs)).toEqual([30, 60]);
      const [a, b] = s.upstream.received.map((r) => r.at) as [number, number];
      expect(b - a).toBeGreaterThanOrEqual(29);
      expect(b - a).toBeLessThan(1000);
      expect(await h.metric("retry_sidecar_retries_skipped_total")).toBe(0);
    },
  );
});

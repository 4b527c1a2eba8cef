import { describe, expect, it } from "vitest";
import { send, useScenario } from "../support/scenario.js";

// docs/contract.md "Fleet-safe retries", through the real sidecar and a real upstream on
// 127.0.0.1: once most attempts fail, the throttle stops retries (retries_skipped{reason=
// "throttled"}, the last response goes through, the log says retryStopped "throttled"), and it
// lets retries go again once the upstream answers well. The breaker is off here so that it cannot
// be what stops a retry; the budget's floor is far above what these requests spend.

const s = useScenario({ status: 503, body: "down" });

const throttled = { route: "/provider", reason: "throttled" };

describe("retry throttle", () => {
  it("an upstream that fails everything: after the throttle engages, one attempt per request", async () => {
    const h = await s.start({ CIRCUIT_FAILURE_THRESHOLD: "0", RETRY_THROTTLE_PROBE_RATIO: "0" });
    const attempts: number[] = [];
    for (let i = 0; i < 6; i++) {
      const reply = await send(h);
      expect(reply.status).toBe(503);
      expect(reply.text).toBe("down");
      attempts.push(reply.attempts);
    }
    // RETRY_THROTTLE_TOKENS 5: the first request's four failed attempts leave 1 token, the second
    // request's first attempt spends it; its three failed retries have shown that retries do not
    // help, so the run of failures earns none either: from then on every request is sent once.
    expect(attempts).toEqual([4, 1, 1, 1, 1, 1]);
    expect(await h.metric("retry_sidecar_retries_skipped_total", throttled)).toBe(5);
    expect(await h.metric("retry_sidecar_retries_skipped_total", { reason: "budget" })).toBe(0);
    const line = await h.waitForLog((l) => l.msg === "request completed" && l.retryStopped === "throttled");
    expect(line.status).toBe(503);
  });

  it("recovers by itself: once first attempts succeed again, retries go again", async () => {
    const h = await s.start({ CIRCUIT_FAILURE_THRESHOLD: "0", RETRY_THROTTLE_PROBE_RATIO: "0" });
    for (let i = 0; i < 3; i++) await send(h);
    expect((await send(h)).attempts).toBe(1); // engaged

    s.upstream.fallback = { status: 200, body: "ok" };
    for (let i = 0; i < 3; i++) expect((await send(h)).status).toBe(200);
    // Three successes earn 3 x RETRY_THROTTLE_RATIO (0.7) tokens: a failure is retried again.
    s.upstream.script({ status: 503 });
    const retried = await send(h);
    expect(retried.status).toBe(200);
    expect(retried.attempts).toBe(2);
  });

  it("while engaged, each request sent earns RETRY_THROTTLE_PROBE_RATIO of a retry: at 0.5, every second request probes once", async () => {
    const h = await s.start({ CIRCUIT_FAILURE_THRESHOLD: "0", RETRY_THROTTLE_PROBE_RATIO: "0.5" });
    const attempts: number[] = [];
    for (let i = 0; i < 8; i++) attempts.push((await send(h)).attempts);
    // As above until the throttle engages (the second request's first attempt spends the last
    // token); from the third request on, each earns half a probe, and every whole one is a retry.
    expect(attempts).toEqual([4, 1, 1, 2, 1, 2, 1, 2]);
  });

  it("RETRY_THROTTLE=off: every request gets all its retries, nothing is counted as throttled", async () => {
    const h = await s.start({ CIRCUIT_FAILURE_THRESHOLD: "0", RETRY_THROTTLE: "off" });
    for (let i = 0; i < 6; i++) expect((await send(h)).attempts).toBe(4);
    expect(await h.metric("retry_sidecar_retries_skipped_total", throttled)).toBe(0);
  });
});

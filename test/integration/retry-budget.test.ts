import { describe, expect, it } from "vitest";
import { FAST_ENV, send, steppingClock, useScenario } from "../support/scenario.js";

// docs/contract.md "When it retries", the budget condition: a retry goes only while, over a sliding 10 s window,
// retries < RETRY_BUDGET_MIN_PER_SEC x 10 + RETRY_BUDGET_RATIO x requests. A retry the budget
// refuses is counted as retries_skipped{reason="budget"} and the last response goes through.
// The breaker and the retry throttle are off here so that they cannot be what stops a retry.
// Each route has its own budget, as it has its own breaker.

const s = useScenario({ status: 503, body: "down" }, { ...FAST_ENV, RETRY_THROTTLE: "off" });

const skippedBudget = { route: "/provider", reason: "budget" };

describe("retry budget", () => {
  it("MIN_PER_SEC=0.1 and RATIO=0 allow exactly one retry in the window", async () => {
    const h = await s.start({
      RETRY_BUDGET_MIN_PER_SEC: "0.1",
      RETRY_BUDGET_RATIO: "0",
      CIRCUIT_FAILURE_THRESHOLD: "0",
    });
    const first = await send(h);
    expect(first.status).toBe(503);
    expect(first.text).toBe("down");
    expect(first.attempts).toBe(2);
    expect(await h.metric("retry_sidecar_retries_skipped_total", skippedBudget)).toBe(1);

    const second = await send(h);
    expect(second.status).toBe(503);
    expect(second.text).toBe("down");
    expect(second.attempts).toBe(1);
    expect(s.upstream.received).toHaveLength(3);
    expect(await h.metric("retry_sidecar_retries_skipped_total", skippedBudget)).toBe(2);
    expect(await h.metric("retry_sidecar_retries_total", { route: "/provider", reason: "503" })).toBe(1);
    expect(await h.metric("retry_sidecar_retries_exhausted_total")).toBe(0);
  });

  it("a request that recovers spends the one retry; the next failure is passed through", async () => {
    const h = await s.start({
      RETRY_BUDGET_MIN_PER_SEC: "0.1",
      RETRY_BUDGET_RATIO: "0",
      CIRCUIT_FAILURE_THRESHOLD: "0",
    });
    s.upstream.script({ status: 503 }, { status: 200, body: "ok" }, { status: 503, body: "again" });
    const recovered = await send(h);
    expect(recovered.status).toBe(200);
    expect(recovered.attempts).toBe(2);
    const refused = await send(h);
    expect(refused.status).toBe(503);
    expect(refused.text).toBe("again");
    expect(refused.attempts).toBe(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total", skippedBudget)).toBe(1);
  });

  it("with RATIO > 0, more requests earn more retries", async () => {
    // MIN_PER_SEC=0, RATIO=0.5: retries < 0.5 x requests seen.
    const h = await s.start({
      RETRY_BUDGET_MIN_PER_SEC: "0",
      RETRY_BUDGET_RATIO: "0.5",
      CIRCUIT_FAILURE_THRESHOLD: "0",
    });
    // 1 request seen: 0 < 0.5 lets one retry go, then 1 < 0.5 stops.
    expect((await send(h)).attempts).toBe(2);
    // 2 requests: 1 < 1 is false, no retry at all.
    expect((await send(h)).attempts).toBe(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total", skippedBudget)).toBe(2);

    s.upstream.script(...Array.from({ length: 4 }, () => ({ status: 200, body: "ok" })));
    for (let i = 0; i < 4; i++) expect((await send(h)).status).toBe(200);
    // 7 requests: 1, 2 and 3 < 3.5, so all three retries go; the request ends exhausted.
    const third = await send(h);
    expect(third.status).toBe(503);
    expect(third.attempts).toBe(4);
    expect(await h.metric("retry_sidecar_retries_skipped_total", skippedBudget)).toBe(2);
    expect(await h.metric("retry_sidecar_retries_exhausted_total", { route: "/provider" })).toBe(1);
    expect(await h.metric("retry_sidecar_retries_total", { route: "/provider", reason: "503" })).toBe(4);
    // 8 requests, 4 retries: 4 < 4 is false.
    expect((await send(h)).attempts).toBe(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total", skippedBudget)).toBe(3);
  });

  it("requests that need no retry do not spend the budget", async () => {
    const h = await s.start({
      RETRY_BUDGET_MIN_PER_SEC: "0.1",
      RETRY_BUDGET_RATIO: "0",
      CIRCUIT_FAILURE_THRESHOLD: "0",
    });
    s.upstream.script(...Array.from({ length: 5 }, () => ({ status: 200, body: "ok" })));
    for (let i = 0; i < 5; i++) expect((await send(h)).attempts).toBe(1);
    expect((await send(h)).attempts).toBe(2);
  });

  it("the window slides: retries older than 10 s no longer count", async () => {
    const clock = steppingClock();
    const h = await s.start(
      { RETRY_BUDGET_MIN_PER_SEC: "0.1", RETRY_BUDGET_RATIO: "0", CIRCUIT_FAILURE_THRESHOLD: "0" },
      { clock: clock.now },
    );
    expect((await send(h)).attempts).toBe(2);
    clock.advance(9_000);
    expect((await send(h)).attempts).toBe(1);
    clock.advance(1_200); // the first request's retry is now more than 10 s old
    expect((await send(h)).attempts).toBe(2);
    expect((await send(h)).attempts).toBe(1);
    expect(await h.metric("retry_sidecar_retries_total", { route: "/provider", reason: "503" })).toBe(2);
    // Each request but the budgeted retries met a refusal: 1 + 1 + 1 + 1.
    expect(await h.metric("retry_sidecar_retries_skipped_total", skippedBudget)).toBe(4);
  });

  it("each route has its own budget: one route's requests earn no retries for another", async () => {
    // MIN_PER_SEC=0, RATIO=0.5. Ten requests on /other would earn five retries in a shared
    // budget; /provider, seeing its first request, has earned one (0 < 0.5), and no more.
    const h = await s.start({
      ROUTES: "/provider,/other",
      RETRY_BUDGET_MIN_PER_SEC: "0",
      RETRY_BUDGET_RATIO: "0.5",
      CIRCUIT_FAILURE_THRESHOLD: "0",
    });
    s.upstream.script(...Array.from({ length: 10 }, () => ({ status: 200, body: "ok" })));
    for (let i = 0; i < 10; i++) expect((await send(h, "/other")).attempts).toBe(1);
    expect((await send(h)).attempts).toBe(2);
    expect((await send(h)).attempts).toBe(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total", skippedBudget)).toBe(2);
    expect(await h.metric("retry_sidecar_retries_skipped_total", { route: "/other", reason: "budget" })).toBe(
      0,
    );
  });
});

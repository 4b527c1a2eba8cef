import { describe, expect, it } from "vitest";
import { rawRequest } from "../support/raw-http.js";
import { json, send, UUID, useScenario } from "../support/scenario.js";
import type { Harness, LogLine } from "../support/sidecar-harness.js";

// docs/contract.md "Answers of the sidecar itself", "Metrics" and "Logs": every answer the sidecar
// makes itself carries X-Request-Id, logged as reqId; its JSON body's reason is counted in
// retry_sidecar_local_replies_total{route, reason} (series at 0 from start-up); each body has
// exactly the contract's fields (error, reason, and attempts when it ends a forwarded request),
// the log line says why retrying stopped (retryStopped); "exhausted" means the same in the log and
// retries_exhausted_total.

const s = useScenario({ status: 503, body: "down" });

const replies = (h: Harness, route: string, reason: string) =>
  h.metric("retry_sidecar_local_replies_total", { route, reason });

const completed = (h: Harness, id: string) =>
  h.waitForLog((l: LogLine) => l.msg === "request completed" && l.reqId === id);

describe("the sidecar's own answers", () => {
  it("404 and 400 carry a generated X-Request-Id, the reqId of their log line", async () => {
    const h = await s.start();
    const missing = await send(h, "/nowhere");
    expect(missing.status).toBe(404);
    const id404 = missing.headers.get("x-request-id") ?? "";
    expect(id404).toMatch(UUID);
    expect(json(missing)).toEqual({ error: "no route forwards this path", reason: "no_route" });
    expect(await completed(h, id404)).toMatchObject({ status: 404, route: "none", attempts: 0 });

    const refused = await rawRequest(h.sidecar.proxyPort, {
      method: "GET",
      target: "/provider/%2e%2e/admin",
      headers: ["Host", "s"],
    });
    expect(refused.status).toBe(400);
    const id400 = refused.headers["x-request-id"] as string;
    expect(id400).toMatch(UUID);
    expect(JSON.parse(refused.body.toString())).toEqual({ error: expect.any(String), reason: "bad_request" });
    expect(await completed(h, id400)).toMatchObject({ status: 400, route: "none" });
    expect(h.logs.filter((l) => l.msg === "request completed" && l.reqId === "")).toEqual([]);
  });

  it("an ambiguous header on a routed path is counted and logged under its route", async () => {
    const h = await s.start();
    const refused = await rawRequest(h.sidecar.proxyPort, {
      target: "/provider/7?x=1",
      headers: ["Host", "s", "Transfer_Encoding", "chunked", "X-Request-Id", "amb-1"],
    });
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body.toString())).toEqual({
      error: 'header "Transfer_Encoding" reads as Transfer-Encoding to some servers',
      reason: "ambiguous_header",
    });
    expect(await completed(h, "amb-1")).toMatchObject({
      route: "/provider",
      path: "/provider/7",
      status: 400,
    });
    expect(await replies(h, "/provider", "ambiguous_header")).toBe(1);
    expect(await replies(h, "none", "ambiguous_header")).toBe(0);
    // On a path no route forwards, it stays route "none".
    await rawRequest(h.sidecar.proxyPort, {
      target: "/nowhere",
      headers: ["Host", "s", "Content_Length", "0"],
    });
    expect(await replies(h, "none", "ambiguous_header")).toBe(1);
    expect(s.upstream.received).toHaveLength(0);
  });

  it("a refused target is logged with its path as received, without the query", async () => {
    const h = await s.start();
    for (const [target, id, path] of [
      ["/provider/%2e%2e/x?token=abc", "dot-1", "/provider/%2e%2e/x"],
      ["/provider/%zz", "pct-1", "/provider/%zz"],
      ["http://billing.evil:80/provider/x?y=1", "abs-1", "/provider/x"],
    ] as const) {
      const refused = await rawRequest(h.sidecar.proxyPort, {
        target,
        headers: ["Host", "s", "X-Request-Id", id],
      });
      expect(refused.status).toBe(400);
      // route "none": where a dot-segment or another host leads is not the route it starts with.
      expect(await completed(h, id)).toMatchObject({ route: "none", path, status: 400 });
    }
  });

  it("a client's X-Request-Id comes back on the 404 and in its log line", async () => {
    const h = await s.start();
    const reply = await send(h, "/nowhere", { headers: { "x-request-id": "mine-404" } });
    expect(reply.headers.get("x-request-id")).toBe("mine-404");
    expect(await completed(h, "mine-404")).toMatchObject({ status: 404 });
  });

  it("counts each by the reason of its body, per route; route none for unmatched requests", async () => {
    const h = await s.start({ MAX_RETRIES: "0", PER_TRY_TIMEOUT_MS: "200" });
    // Every series exists from start-up, at 0 (read in the exposition: a missing series reads 0 too).
    const exposition = await (await fetch(`${h.adminUrl}/metrics`)).text();
    for (const reason of ["no_route", "bad_request", "ambiguous_header", "expectation_failed"]) {
      expect(exposition).toContain(`retry_sidecar_local_replies_total{route="none",reason="${reason}"} 0`);
    }
    for (const reason of [
      "no_route",
      "bad_request",
      "ambiguous_header",
      "expectation_failed",
      "circuit_open",
      "overloaded",
      "connect_error",
      "reset",
      "timeout",
      "shutdown",
      "internal",
    ]) {
      expect(exposition).toContain(
        `retry_sidecar_local_replies_total{route="/provider",reason="${reason}"} 0`,
      );
    }
    expect(exposition).toMatch(
      /retry_sidecar_build_info\{version="\d+\.\d+\.\d+[^"]*",node="\d+\.\d+\.\d+"\} 1/,
    );

    s.upstream.script({ reset: true }, { status: 200, delayMs: 1000 }); // then the fallback: 503 "down"
    expect((await send(h, "/nowhere")).status).toBe(404);
    expect((await send(h, "/nowhere/else")).status).toBe(404);
    expect((await send(h)).status).toBe(502);
    expect((await send(h)).status).toBe(504);
    const upstream503 = await send(h);
    expect([upstream503.status, upstream503.text]).toEqual([503, "down"]); // the upstream's: not counted
    expect(await replies(h, "none", "no_route")).toBe(2);
    expect(await replies(h, "/provider", "reset")).toBe(1);
    expect(await replies(h, "/provider", "timeout")).toBe(1);
    expect(await h.metric("retry_sidecar_local_replies_total", { route: "/provider" })).toBe(2);
  });

  it("the circuit's 503: X-Request-Id, reason circuit_open counted, retryStopped in the log", async () => {
    const h = await s.start({ CIRCUIT_FAILURE_THRESHOLD: "1", CIRCUIT_OPEN_MS: "5000" });
    expect((await send(h, "/provider", { headers: { "x-retry-max": "0" } })).text).toBe("down");
    const fast = await send(h, "/provider", { headers: { "x-request-id": "fast-503" } });
    expect(fast.status).toBe(503);
    expect(fast.headers.get("x-request-id")).toBe("fast-503");
    expect(json(fast)).toEqual({ error: expect.any(String), reason: "circuit_open", attempts: 0 });
    expect(await completed(h, "fast-503")).toMatchObject({
      status: 503,
      attempts: 0,
      retryStopped: "circuit_open",
    });
    expect(await replies(h, "/provider", "circuit_open")).toBe(1);
  });

  it("502/504 bodies are the contract's three fields; the log line says why retrying stopped", async () => {
    const h = await s.start({ MAX_RETRIES: "1", BACKOFF_BASE_MS: "1" });
    s.upstream.script({ reset: true }, { reset: true });
    const reply = await send(h, "/provider", { headers: { "x-request-id": "two-resets" } });
    expect(reply.status).toBe(502);
    const body = json(reply);
    expect(body).toEqual({
      error: "upstream closed the connection without a response",
      reason: "reset",
      attempts: 2,
    });
    expect(await completed(h, "two-resets")).toMatchObject({ retryStopped: "exhausted", attempts: 2 });
  });
});

describe('"exhausted": one meaning in the body, the log and retries_exhausted_total', () => {
  it("x-retry-max: 0 and a retryable final outcome: exhausted everywhere, and counted", async () => {
    const h = await s.start();
    const reply = await send(h, "/provider", {
      headers: { "x-retry-max": "0", "x-request-id": "no-retries" },
    });
    // 503 from the upstream (RETRY_ON_STATUS), passed through: the log and the metric say exhausted.
    expect([reply.status, reply.attempts]).toEqual([503, 1]);
    expect(await completed(h, "no-retries")).toMatchObject({ retryStopped: "exhausted", attempts: 1 });
    expect(await h.metric("retry_sidecar_retries_exhausted_total", { route: "/provider" })).toBe(1);
  });

  it("x-retry-max: 0 and a timeout: the 504's body, the log and the metric agree", async () => {
    const h = await s.start({ PER_TRY_TIMEOUT_MS: "200" });
    s.upstream.script({ status: 200, delayMs: 1000 });
    const reply = await send(h, "/provider", {
      headers: { "x-retry-max": "0", "x-request-id": "timeout-0" },
    });
    expect(reply.status).toBe(504);
    expect(json(reply)).toEqual({
      error: "upstream sent no response headers in time",
      reason: "timeout",
      attempts: 1,
    });
    expect(await completed(h, "timeout-0")).toMatchObject({ retryStopped: "exhausted" });
    expect(await h.metric("retry_sidecar_retries_exhausted_total", { route: "/provider" })).toBe(1);
  });

  it("a fine answer is not exhausted, with or without retries", async () => {
    const h = await s.start();
    s.upstream.script({ status: 503 }, { status: 200 }, { status: 201 });
    expect((await send(h)).status).toBe(200);
    expect((await send(h, "/provider", { headers: { "x-retry-max": "0" } })).status).toBe(201);
    expect(await h.metric("retry_sidecar_retries_exhausted_total", { route: "/provider" })).toBe(0);
    expect(await h.metric("retry_sidecar_retry_success_total", { route: "/provider" })).toBe(1);
  });
});

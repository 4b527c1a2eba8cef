import { describe, expect, it } from "vitest";
import { retryLogs, send, useScenario } from "../support/scenario.js";

// docs/contract.md "Logs": at level info, each retry logs msg "upstream retry" with reqId, route, attempt
// (the attempt about to start), delayMs and reason; reqId is the request's X-Request-Id.

const s = useScenario({ status: 200, body: "ok" });

const INFO = "info";

describe("retry logs", () => {
  it("logs each retry with reqId, route, attempt, delayMs and reason", async () => {
    const h = await s.start({ BACKOFF_BASE_MS: "15" });
    s.upstream.script({ status: 503 }, { status: 429 });
    const reply = await send(h, "/provider/5", { headers: { "x-request-id": "req-7f3a" } });
    expect(reply.status).toBe(200);
    expect(reply.attempts).toBe(3);
    const lines = retryLogs(h).map(({ level, reqId, route, attempt, delayMs, reason }) => ({
      level,
      reqId,
      route,
      attempt,
      delayMs,
      reason,
    }));
    expect(lines).toEqual([
      { level: INFO, reqId: "req-7f3a", route: "/provider", attempt: 2, delayMs: 15, reason: "503" },
      { level: INFO, reqId: "req-7f3a", route: "/provider", attempt: 3, delayMs: 30, reason: "429" },
    ]);
    // The same id on every attempt upstream and back to the client.
    expect(s.upstream.received.map((r) => r.headers["x-request-id"])).toEqual([
      "req-7f3a",
      "req-7f3a",
      "req-7f3a",
    ]);
    expect(reply.headers.get("x-request-id")).toBe("req-7f3a");
  });

  it("logs transport failures with their reason and the Retry-After delay", async () => {
    const h = await s.start({ PER_TRY_TIMEOUT_MS: "300", BACKOFF_BASE_MS: "20" });
    s.upstream.script(
      { reset: true },
      { status: 200, delayMs: 2000 },
      { status: 503, headers: { "retry-after": "0" } },
    );
    const reply = await send(h, "/provider", { headers: { "x-request-id": "req-transport" } });
    expect(reply.attempts).toBe(4);
    expect(retryLogs(h).map((l) => [l.reqId, l.attempt, l.delayMs, l.reason])).toEqual([
      ["req-transport", 2, 20, "reset"],
      ["req-transport", 3, 40, "timeout"],
      ["req-transport", 4, 0, "503"],
    ]);
  });

  it("a generated request id is the reqId of the retry logs, sent upstream and returned", async () => {
    const h = await s.start();
    s.upstream.script({ status: 502 });
    const reply = await send(h);
    const id = reply.headers.get("x-request-id");
    expect(id).toBeTruthy();
    expect(retryLogs(h).map((l) => l.reqId)).toEqual([id]);
    expect(s.upstream.received.map((r) => r.headers["x-request-id"])).toEqual([id, id]);
    const done = await h.waitForLog((l) => l.msg === "request completed" && l.reqId === id);
    expect(done).toMatchObject({ status: 200, attempts: 2, method: "POST", path: "/provider" });
  });

  it("logs no retry line for a request that was not retried", async () => {
    const h = await s.start();
    s.upstream.script({ status: 503, headers: { "retry-after": "999" } }, { status: 409 });
    await send(h);
    await send(h);
    expect(retryLogs(h)).toEqual([]);
  });
});

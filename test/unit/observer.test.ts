import { Writable } from "node:stream";
import { describe, expect, it, vi } from "vitest";
import { type CompletedFields, createCompletedLineWriter } from "../../src/observability/completed-line.js";
import { logsCompleted } from "../../src/observability/log-requests.js";
import { createLogger } from "../../src/observability/logger.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { createObserver } from "../../src/observability/observer.js";
import type { RequestCompleted } from "../../src/proxy/forward-request.js";

// The observer's parts on their own: the fixed-shape "request completed" line writes what pino
// would, LOG_REQUESTS selects the lines of docs/contract.md "Logs", and each metric series is
// bound once (prom-client's labels() is not called per request).

function capture(level = "info") {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString("utf8").split("\n")) if (text !== "") lines.push(text);
      callback();
    },
  });
  return { lines, logger: createLogger(level, destination) };
}

const fields: CompletedFields = {
  reqId: 'id "quoted" \\ back\nslash \u2028 é 😀',
  route: "/provider",
  method: "POST",
  path: '/provider/a"b\u0001',
  status: 201,
  attempts: 2,
  durationMs: 37,
  endpoint: "10.1.2.3:5002",
  retryStopped: "exhausted",
};

describe("the fixed-shape request completed line", () => {
  it("is the JSON pino writes for the same fields, key for key and in the same order", () => {
    const fixed = capture();
    createCompletedLineWriter(fixed.logger)(fields);
    const viaPino = capture();
    viaPino.logger.info({ ...fields }, "request completed");
    const [ours] = fixed.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const [theirs] = viaPino.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(Object.keys(ours ?? {})).toEqual(Object.keys(theirs ?? {}));
    expect({ ...ours, time: "" }).toEqual({ ...theirs, time: "" });
    expect(ours).toMatchObject({ level: "info", reqId: fields.reqId, path: fields.path });
    expect(ours?.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it("leaves out endpoint and retryStopped when absent", () => {
    const { lines, logger } = capture();
    const { endpoint: _e, retryStopped: _r, ...plain } = fields;
    createCompletedLineWriter(logger)(plain);
    expect(JSON.parse(lines[0] ?? "")).not.toHaveProperty("endpoint");
    expect(JSON.parse(lines[0] ?? "")).not.toHaveProperty("retryStopped");
  });

  it("writes nothing at LOG_LEVEL=warn, but a line with an error still goes out as warn", () => {
    const { lines, logger } = capture("warn");
    const write = createCompletedLineWriter(logger);
    write(fields);
    expect(lines).toEqual([]);
    write({ ...fields, error: { code: "UPSTREAM_RESET", message: "reset" } });
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ level: "warn", error: { code: "UPSTREAM_RESET" } });
  });
});

const event = (change: Partial<RequestCompleted>): RequestCompleted => ({
  requestId: "r",
  route: "/provider",
  method: "GET",
  path: "/provider",
  status: 200,
  attempts: 1,
  retries: 0,
  durationMs: 1,
  stop: "not_retryable",
  retryable: false,
  ...change,
});

describe("LOG_REQUESTS", () => {
  it.each<[string, Partial<RequestCompleted>, boolean]>([
    ["a plain success", {}, false],
    ["a plain 4xx", { status: 409 }, false],
    ["more than one attempt", { attempts: 2, retries: 1 }, true],
    ["a status of 500 or more", { status: 501 }, true],
    ["a 500 itself", { status: 500 }, true],
    ["the sidecar's own 404", { status: 404, attempts: 0, stop: undefined, localReason: "no_route" }, true],
    ["a client that left", { status: 499, stop: "client_gone" }, true],
    ["retrying stopped early", { status: 429, stop: "budget", retryable: true }, true],
    ["cut by shutdown", { status: 200, stop: "shutdown" }, true],
    ["a body that broke off", { error: new Error("cut") }, true],
  ])("retried: %s → %s", (_name, change, logged) => {
    expect(logsCompleted("retried", event(change))).toBe(logged);
    expect(logsCompleted("all", event(change))).toBe(true);
    expect(logsCompleted("none", event(change))).toBe(false);
  });
});

describe("metric series", () => {
  it("are bound once each: labels() is not called per request", () => {
    const metrics = createMetrics(["/provider"]);
    const { logger } = capture();
    const observer = createObserver(metrics, logger, "none");
    const spies = [metrics.attempts, metrics.requests, metrics.retries, metrics.localReplies].map((metric) =>
      vi.spyOn(metric, "labels"),
    );
    for (let i = 0; i < 5; i++) {
      observer.attempt("/provider", "503", 12);
      observer.retry("/provider", "r", 2, 10, "503", undefined);
      observer.completed(event({ status: 502, localReason: "reset", stop: "exhausted", retryable: true }));
    }
    expect(spies.map((spy) => spy.mock.calls.length)).toEqual([1, 1, 1, 1]);
  });

  it("count what they did before the binding: same values", async () => {
    const metrics = createMetrics(["/provider"]);
    const observer = createObserver(metrics, capture().logger, "none");
    for (let i = 0; i < 3; i++) observer.completed(event({ status: 502, localReason: "reset" }));
    observer.completed(event({ status: 201, method: "POST" }));
    const text = await metrics.registry.metrics();
    expect(text).toContain('retry_sidecar_requests_total{route="/provider",method="GET",code="502"} 3');
    expect(text).toContain('retry_sidecar_requests_total{route="/provider",method="POST",code="201"} 1');
    expect(text).toContain('retry_sidecar_local_replies_total{route="/provider",reason="reset"} 3');
  });
});

import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { rawRequest } from "../support/raw-http.js";
import { useScenario } from "../support/scenario.js";
import type { Harness, LogLine } from "../support/sidecar-harness.js";

// docs/contract.md "Logs": pino JSON with level names and ISO 8601 UTC times; "request completed"
// with reqId, method, path, status, attempts, durationMs, for the requests LOG_REQUESTS selects;
// "upstream retry" per retry; never a body, Authorization or Cookie.

const scenario = useScenario({ status: 200, body: "ok" }, { BACKOFF_BASE_MS: "20", BACKOFF_JITTER: "0" });

const completedLines = (h: Harness) => h.logs.filter((l) => l.msg === "request completed");

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function waitForCompleted(h: Harness, count: number): Promise<LogLine[]> {
  for (let i = 0; i < 200 && completedLines(h).length < count; i++)
    await new Promise((r) => setTimeout(r, 5));
  return completedLines(h);
}

describe('"request completed"', () => {
  it("logs one line per request with reqId, method, path, status, attempts, durationMs", async () => {
    const h = await scenario.start();
    scenario.upstream.script({ status: 503 }, { status: 201, delayMs: 30 });
    const res = await fetch(`${h.url}/provider/42?token=abc`, {
      method: "POST",
      body: "x",
      headers: { "x-request-id": "req-log-1" },
    });
    await res.arrayBuffer();
    const [line, ...others] = await waitForCompleted(h, 1);
    expect(others).toEqual([]);
    expect(line).toMatchObject({
      level: "info",
      msg: "request completed",
      route: "/provider",
      reqId: "req-log-1",
      method: "POST",
      path: "/provider/42",
      status: 201,
      attempts: 2,
    });
    expect(typeof line?.durationMs).toBe("number");
    expect(Number.isInteger(line?.durationMs)).toBe(true);
    expect(line?.durationMs as number).toBeGreaterThanOrEqual(45); // 20 ms backoff + 30 ms upstream
    expect(line?.durationMs as number).toBeLessThan(5000);
    expect(line?.time).toMatch(ISO_UTC);
    expect(Math.abs(Date.parse(line?.time as string) - Date.now())).toBeLessThan(10_000);
    expect(line).not.toHaveProperty("retryStopped"); // a plain final answer after a retry
  });

  it("every line has its level by name and its time in ISO 8601 UTC, warn lines included", async () => {
    const h = await scenario.start({ MAX_RETRIES: "0" });
    scenario.upstream.script({ reset: true });
    await (await fetch(`${h.url}/provider`)).arrayBuffer();
    const warn = await h.waitForLog((l) => l.msg === "request completed");
    expect(warn).toMatchObject({ level: "warn", status: 502, error: { code: "UPSTREAM_RESET" } });
    expect(h.logs.length).toBeGreaterThan(1);
    for (const line of h.logs) {
      expect(["info", "warn"]).toContain(line.level);
      expect(line.time).toMatch(ISO_UTC);
      expect(line).toMatchObject({ pid: process.pid });
      expect(line).not.toHaveProperty("name"); // only "unknown setting" has one: the variable's
    }
  });

  it("logs the sidecar's own answers too: 404, 400, 502 (numbers as numbers), each with its id", async () => {
    const h = await scenario.start({ MAX_RETRIES: "0" });
    scenario.upstream.script({ reset: true });
    await (await fetch(`${h.url}/nowhere`, { headers: { "x-request-id": "r404" } })).arrayBuffer();
    await rawRequest(h.sidecar.proxyPort, {
      method: "PUT",
      target: "/provider/../x",
      headers: ["Host", "s", "X-Request-Id", "r400"],
    });
    await (
      await fetch(`${h.url}/provider`, { method: "DELETE", headers: { "x-request-id": "r502" } })
    ).arrayBuffer();
    const lines = await waitForCompleted(h, 3);
    const pick = (l: LogLine) => ({
      reqId: l.reqId,
      method: l.method,
      status: l.status,
      attempts: l.attempts,
    });
    expect(lines.map(pick)).toEqual([
      { reqId: "r404", method: "GET", status: 404, attempts: 0 },
      { reqId: "r400", method: "PUT", status: 400, attempts: 0 },
      { reqId: "r502", method: "DELETE", status: 502, attempts: 1 },
    ]);
    expect(lines[0]?.path).toBe("/nowhere");
    expect(lines[2]?.path).toBe("/provider");
    for (const line of lines) expect(typeof line.durationMs).toBe("number");
  });
});

describe("LOG_REQUESTS", () => {
  /** One request of each kind; returns the status of each, in order. */
  async function traffic(h: Harness): Promise<number[]> {
    scenario.upstream.script(
      { status: 200 }, // plain success
      { status: 409 }, // plain final answer: not retryable
      { status: 503 }, // retried ...
      { status: 200 }, // ... then fine: two attempts
      { status: 501 }, // not in RETRY_ON_STATUS, but a status of 500 or more
    );
    const statuses: number[] = [];
    const call = async (path: string, id: string) => {
      const res = await fetch(`${h.url}${path}`, { headers: { "x-request-id": id } });
      await res.arrayBuffer();
      statuses.push(res.status);
    };
    await call("/provider", "plain");
    await call("/provider", "conflict");
    await call("/provider", "retried");
    await call("/provider", "five-hundred");
    await call("/elsewhere", "local-404");
    return statuses;
  }

  const loggedIds = (h: Harness) => completedLines(h).map((l) => l.reqId);

  it("retried (the default): more than one attempt, 500 or more, the sidecar's own answers; not plain answers", async () => {
    const h = await scenario.start();
    expect(await traffic(h)).toEqual([200, 409, 200, 501, 404]);
    await waitForCompleted(h, 3);
    await new Promise((r) => setTimeout(r, 50)); // nothing more comes
    expect(loggedIds(h)).toEqual(["retried", "five-hundred", "local-404"]);
    // The metrics still count every request.
    expect(await h.metric("retry_sidecar_requests_total", { route: "/provider" })).toBe(4);
  });

  it("retried: a client that left is logged (499, client_gone)", async () => {
    const h = await scenario.start();
    scenario.upstream.script({ status: 200, delayMs: 2000 });
    const controller = new AbortController();
    const leaving = fetch(`${h.url}/provider`, {
      headers: { "x-request-id": "gone" },
      signal: controller.signal,
    }).catch(() => "aborted");
    await scenario.upstream.waitForRequests(1);
    controller.abort();
    await leaving;
    expect(await h.waitForLog((l) => l.msg === "request completed")).toMatchObject({
      reqId: "gone",
      status: 499,
      retryStopped: "client_gone",
    });
  });

  it("all: every request", async () => {
    const h = await scenario.start({ LOG_REQUESTS: "all" });
    await traffic(h);
    await waitForCompleted(h, 5);
    expect(loggedIds(h)).toEqual(["plain", "conflict", "retried", "five-hundred", "local-404"]);
  });

  it("none: no request, not even the sidecar's own answers; the retry lines stay", async () => {
    const h = await scenario.start({ LOG_REQUESTS: "none" });
    await traffic(h);
    await new Promise((r) => setTimeout(r, 100));
    expect(completedLines(h)).toEqual([]);
    expect(h.logs.filter((l) => l.msg === "upstream retry")).toHaveLength(1);
  });
});

describe("no bodies, Authorization or Cookie in any log line", () => {
  it.each(["info", "debug", "trace"])(
    "at LOG_LEVEL=%s, through successes, retries and failures",
    async (level) => {
      const h = await scenario.start({ LOG_LEVEL: level, MAX_RETRIES: "1" });
      const secretHeaders = {
        authorization: "Bearer SECRET-AUTH-TOKEN",
        cookie: "session=SECRET-COOKIE-VALUE",
        "content-type": "application/json",
      };
      scenario.upstream.script(
        { status: 503, body: "SECRET-RESPONSE-BODY-1" },
        { status: 200, body: "SECRET-RESPONSE-BODY-2", headers: { "set-cookie": "s=SECRET-SET-COOKIE" } },
        { reset: true },
        { reset: true },
      );
      const first = await fetch(`${h.url}/provider`, {
        method: "POST",
        body: '{"card":"SECRET-REQUEST-BODY"}',
        headers: secretHeaders,
      });
      expect(await first.text()).toBe("SECRET-RESPONSE-BODY-2");
      await (
        await fetch(`${h.url}/provider`, {
          method: "PUT",
          body: "SECRET-REQUEST-BODY",
          headers: secretHeaders,
        })
      ).arrayBuffer();
      await (
        await fetch(`${h.url}/nope`, { method: "POST", body: "SECRET-REQUEST-BODY", headers: secretHeaders })
      ).arrayBuffer();
      await rawRequest(h.sidecar.proxyPort, {
        method: "POST",
        target: "/provider/%2e%2e/x",
        headers: [
          "Host",
          "s",
          "Authorization",
          "Basic SECRET-AUTH-TOKEN",
          "Cookie",
          "SECRET-COOKIE-VALUE",
          "Content-Length",
          "19",
        ],
        body: "SECRET-REQUEST-BODY",
      });
      await waitForCompleted(h, 4);
      expect(completedLines(h)).toHaveLength(4);
      const all = JSON.stringify(h.logs);
      expect(all).not.toContain("SECRET");
    },
  );
});

describe('"unknown setting"', () => {
  it("has exactly one name key, the variable's, as raw text (JSON.parse would hide a duplicate)", async () => {
    let raw = "";
    const logDestination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        raw += chunk.toString("utf8");
        callback();
      },
    });
    const h = await scenario.start(
      {},
      { logDestination, unknownSettings: [{ name: "MAX_RETIRES", didYouMean: "MAX_RETRIES" }] },
    );
    await h.sidecar.shutdown(); // flushes the batched lines
    const line = raw.split("\n").find((text) => text.includes('"msg":"unknown setting"')) ?? "";
    expect(line.match(/"name":/g)).toEqual(['"name":']);
    expect(JSON.parse(line)).toMatchObject({ level: "warn", name: "MAX_RETIRES", didYouMean: "MAX_RETRIES" });
  });
});

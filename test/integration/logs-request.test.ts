import { describe, expect, it } from "vitest";
import { rawRequest } from "../support/raw-http.js";
import { useScenario } from "../support/scenario.js";
import type { Harness, LogLine } from "../support/sidecar-harness.js";

// docs/contract.md "Logs": pino JSON; "request completed" per request with reqId, method, path, status,
// attempts, durationMs; "upstream retry" per retry; never a body, Authorization or Cookie.

const scenario = useScenario({ status: 200, body: "ok" }, { BACKOFF_BASE_MS: "20", BACKOFF_JITTER: "0" });

const completedLines = (h: Harness) => h.logs.filter((l) => l.msg === "request completed");

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
      level: 30,
      msg: "request completed",
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
    expect(typeof line?.time).toBe("number");
  });

  it("logs the sidecar's own answers too: 404, 400, 502 (numbers as numbers)", async () => {
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

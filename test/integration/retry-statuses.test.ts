import { describe, expect, it } from "vitest";
import { send, useScenario } from "../support/scenario.js";

// docs/contract.md "When it retries": a status in RETRY_ON_STATUS (default 408,429,500,502,503,504) is
// retried; any other response (2xx, 3xx, 4xx other than 408/429, an unlisted 5xx) goes to the
// client at once, unchanged. 500/502/503/504 and 400/404 are in legacy-client-behaviours.

const s = useScenario({ status: 200, body: "recovered" });

describe("RETRY_ON_STATUS", () => {
  it.each([408, 429])("retries a %i by default", async (status) => {
    const h = await s.start();
    s.upstream.script({ status, body: "try again" });
    const reply = await send(h);
    expect(reply.status).toBe(200);
    expect(reply.text).toBe("recovered");
    expect(reply.attempts).toBe(2);
    expect(s.upstream.received).toHaveLength(2);
    expect(
      await h.metric("retry_sidecar_retries_total", { route: "/provider", reason: String(status) }),
    ).toBe(1);
  });

  it.each([501, 505, 301, 302, 303, 304, 307, 308, 401, 403, 409, 422])(
    "never retries a %i and passes it through unchanged",
    async (status) => {
      const h = await s.start();
      const headers: Record<string, string> = { "x-upstream": "first" };
      if (status >= 300 && status < 400) headers.location = "/elsewhere";
      const body = status === 304 ? "" : `status ${status}`;
      s.upstream.script({ status, headers, body });
      const reply = await send(h);
      expect(reply.status).toBe(status);
      expect(reply.text).toBe(body);
      expect(reply.headers.get("x-upstream")).toBe("first");
      if (status >= 300 && status < 400) expect(reply.headers.get("location")).toBe("/elsewhere");
      expect(reply.attempts).toBe(1);
      expect(s.upstream.received).toHaveLength(1);
      expect(await h.metric("retry_sidecar_retries_total")).toBe(0);
      expect(
        await h.metric("retry_sidecar_upstream_attempts_total", {
          route: "/provider",
          outcome: String(status),
        }),
      ).toBe(1);
    },
  );

  it("numbers the attempts upstream with x-attempt-count, 1 for the first", async () => {
    const h = await s.start();
    s.upstream.script({ status: 503 }, { status: 429 }, { status: 500 });
    const reply = await send(h);
    expect(reply.attempts).toBe(4);
    expect(s.upstream.received.map((r) => r.headers["x-attempt-count"])).toEqual(["1", "2", "3", "4"]);
  });

  it("retries after a retryable answer with a large body (its connection is not reused)", async () => {
    const h = await s.start();
    s.upstream.script({ status: 503, body: "x".repeat(300_000) }, { status: 502, body: "y".repeat(300_000) });
    const reply = await send(h);
    expect(reply.status).toBe(200);
    expect(reply.text).toBe("recovered");
    expect(reply.attempts).toBe(3);
  });

  it("RETRY_ON_STATUS=418 retries a 418 and no longer a 503", async () => {
    const h = await s.start({ RETRY_ON_STATUS: "418" });
    s.upstream.script({ status: 418, body: "teapot" }, { status: 418, body: "teapot" });
    const recovered = await send(h);
    expect(recovered.status).toBe(200);
    expect(recovered.attempts).toBe(3);
    expect(s.upstream.received).toHaveLength(3);

    s.upstream.script({ status: 503, body: "down" });
    const passed = await send(h);
    expect(passed.status).toBe(503);
    expect(passed.text).toBe("down");
    expect(passed.attempts).toBe(1);
    expect(s.upstream.received).toHaveLength(4);
    expect(await h.metric("retry_sidecar_retries_total", { reason: "418" })).toBe(2);
    expect(await h.metric("retry_sidecar_retries_total", { reason: "503" })).toBe(0);
  });

  it("RETRY_ON_STATUS=418 no longer retries a 408 or 429 either", async () => {
    const h = await s.start({ RETRY_ON_STATUS: "418" });
    s.upstream.script({ status: 408 }, { status: 429 });
    expect((await send(h)).status).toBe(408);
    expect((await send(h)).status).toBe(429);
    expect(s.upstream.received).toHaveLength(2);
  });
});

import { describe, expect, it } from "vitest";
import { type Received, startFakeUpstream } from "../support/fake-upstream.js";
import { quietPort } from "../support/quiet-port.js";
import { json, send, UUID, until, useScenario } from "../support/scenario.js";

// docs/contract.md "When it retries": non-idempotent requests (POST, PATCH) without the IDEMPOTENCY_HEADER
// get one generated (a UUID) before the first attempt, and every attempt carries the same value;
// a value the client sent is kept. IDEMPOTENCY_HEADER renames it; empty turns it off, and then a
// POST or PATCH is retried only after a failure that proves it never reached the upstream.

const s = useScenario({ status: 200, body: "ok" });

/** Every value of header `name` (any case) on one received request. */
function values(request: Received, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    if (request.rawHeaders[i]?.toLowerCase() === name) out.push(request.rawHeaders[i + 1] as string);
  }
  return out;
}

describe("idempotency key", () => {
  it.each(["POST", "PATCH"])("a %s without one gets a UUID, the same on every attempt", async (method) => {
    const h = await s.start();
    s.upstream.script({ status: 503 }, { reset: true });
    const reply = await send(h, "/provider", { method, body: "{}" });
    expect(reply.status).toBe(200);
    expect(reply.attempts).toBe(3);
    const keys = s.upstream.received.map((r) => values(r, "idempotency-key"));
    expect(keys).toHaveLength(3);
    for (const key of keys) expect(key).toHaveLength(1);
    const [first] = keys[0] as string[];
    expect(first).toMatch(UUID);
    expect(keys.flat()).toEqual([first, first, first]);
  });

  it("two requests get two different keys", async () => {
    const h = await s.start();
    await send(h);
    await send(h);
    const [a, b] = s.upstream.received.map((r) => r.headers["idempotency-key"]);
    expect(a).toMatch(UUID);
    expect(b).toMatch(UUID);
    expect(a).not.toBe(b);
  });

  it.each(["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY"])(
    "a key the client sent (%s) is kept on every attempt, not replaced or doubled",
    async (name) => {
      const h = await s.start();
      s.upstream.script({ status: 503 });
      const reply = await send(h, "/provider", {
        method: "POST",
        body: "{}",
        headers: { [name]: "client-key-1" },
      });
      expect(reply.attempts).toBe(2);
      for (const r of s.upstream.received) expect(values(r, "idempotency-key")).toEqual(["client-key-1"]);
    },
  );

  it.each(["GET", "PUT", "DELETE", "OPTIONS"])("a %s gets none, on any attempt", async (method) => {
    const h = await s.start();
    s.upstream.script({ status: 503 });
    const reply = await send(h, "/provider", { method, body: method === "PUT" ? "{}" : null });
    expect(reply.status).toBe(200);
    expect(reply.attempts).toBe(2);
    for (const r of s.upstream.received) {
      expect(r.method).toBe(method);
      expect(values(r, "idempotency-key")).toEqual([]);
    }
  });

  it("IDEMPOTENCY_HEADER=X-Dedupe-Id renames the header", async () => {
    const h = await s.start({ IDEMPOTENCY_HEADER: "X-Dedupe-Id" });
    s.upstream.script({ status: 503 });
    await send(h);
    const [a, b] = s.upstream.received as [Received, Received];
    expect(values(a, "idempotency-key")).toEqual([]);
    expect(values(a, "x-dedupe-id")).toHaveLength(1);
    expect(a.headers["x-dedupe-id"]).toMatch(UUID);
    expect(b.headers["x-dedupe-id"]).toBe(a.headers["x-dedupe-id"]);
  });

  it("IDEMPOTENCY_HEADER=X-Dedupe-Id keeps a value the client sent under that name", async () => {
    const h = await s.start({ IDEMPOTENCY_HEADER: "X-Dedupe-Id" });
    await send(h, "/provider", { method: "PATCH", body: "{}", headers: { "x-dedupe-id": "mine" } });
    const [a] = s.upstream.received as [Received];
    expect(values(a, "x-dedupe-id")).toEqual(["mine"]);
  });

  it("IDEMPOTENCY_HEADER= (empty) sends no key", async () => {
    const h = await s.start({ IDEMPOTENCY_HEADER: "" });
    await send(h);
    await send(h, "/provider", { method: "PATCH", body: "{}" });
    expect(s.upstream.received).toHaveLength(2);
    for (const r of s.upstream.received) {
      expect(values(r, "idempotency-key")).toEqual([]);
      for (const [name, value] of Object.entries(r.headers)) {
        if (name !== "x-request-id") expect(String(value)).not.toMatch(UUID);
      }
    }
  });
});

describe("IDEMPOTENCY_HEADER= (empty): nothing makes a repeated POST or PATCH safe", () => {
  it.each([
    ["POST", "a 503", { status: 503, body: "busy" }, "503"],
    ["PATCH", "a reset", { reset: true }, "502"],
    ["POST", "a timeout", { status: 200, delayMs: 1000 }, "504"],
  ] as const)(
    "a %s after %s is final: the upstream sees it once (not_idempotent)",
    async (method, _what, first, code) => {
      const h = await s.start({ IDEMPOTENCY_HEADER: "", PER_TRY_TIMEOUT_MS: "300" });
      s.upstream.script(first);
      const reply = await send(h, "/provider", {
        method,
        body: "{}",
        headers: { "x-request-id": "keyless" },
      });
      expect(String(reply.status)).toBe(code);
      expect(reply.attempts).toBe(1);
      expect(s.upstream.received).toHaveLength(1);
      expect(s.upstream.received[0]?.method).toBe(method);
      if (code !== "503") expect(Object.keys(json(reply)).sort()).toEqual(["attempts", "error", "reason"]);
      expect(
        await h.metric("retry_sidecar_retries_skipped_total", {
          route: "/provider",
          reason: "not_idempotent",
        }),
      ).toBe(1);
      expect(await h.waitForLog((l) => l.msg === "request completed" && l.reqId === "keyless")).toMatchObject(
        {
          attempts: 1,
          retryStopped: "not_idempotent",
        },
      );
    },
  );

  it("a PUT (idempotent) is still retried after a 503", async () => {
    const h = await s.start({ IDEMPOTENCY_HEADER: "" });
    s.upstream.script({ status: 503 });
    const reply = await send(h, "/provider", { method: "PUT", body: "{}" });
    expect([reply.status, reply.attempts]).toEqual([200, 2]);
  });

  it("a POST is retried after connection refused: the retry reaches the upstream once it listens", async () => {
    const port = await quietPort();
    const h = await s.start({
      IDEMPOTENCY_HEADER: "",
      UPSTREAM_URL: `http://127.0.0.1:${port}`,
      BACKOFF_BASE_MS: "300",
    });
    const pending = send(h, "/provider", { method: "POST", body: "{}" });
    await until(
      async () =>
        (await h.metric("retry_sidecar_upstream_attempts_total", { outcome: "connect_error" })) >= 1,
    );
    const late = await startFakeUpstream({ status: 201, body: "made" }, { port });
    try {
      const reply = await pending;
      expect([reply.status, reply.text]).toEqual([201, "made"]);
      expect(reply.attempts).toBe(2);
      expect(late.received.map((r) => r.method)).toEqual(["POST"]);
      expect(
        await h.metric("retry_sidecar_retries_skipped_total", {
          route: "/provider",
          reason: "not_idempotent",
        }),
      ).toBe(0);
    } finally {
      await late.close();
    }
  });
});

import { describe, expect, it } from "vitest";
import type { Received } from "../support/fake-upstream.js";
import { send, UUID, useScenario } from "../support/scenario.js";

// docs/contract.md "When it retries": non-idempotent requests (POST, PATCH) without the IDEMPOTENCY_HEADER
// get one generated (a UUID) before the first attempt, and every attempt carries the same value;
// a value the client sent is kept. IDEMPOTENCY_HEADER renames it; empty turns it off.

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

  it("IDEMPOTENCY_HEADER= (empty) turns it off", async () => {
    const h = await s.start({ IDEMPOTENCY_HEADER: "" });
    s.upstream.script({ status: 503 });
    const post = await send(h);
    expect(post.attempts).toBe(2);
    await send(h, "/provider", { method: "PATCH", body: "{}" });
    expect(s.upstream.received).toHaveLength(3);
    for (const r of s.upstream.received) {
      expect(values(r, "idempotency-key")).toEqual([]);
      for (const [name, value] of Object.entries(r.headers)) {
        if (name !== "x-request-id") expect(String(value)).not.toMatch(UUID);
      }
    }
  });
});

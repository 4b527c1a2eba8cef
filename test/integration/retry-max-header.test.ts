import { describe, expect, it } from "vitest";
import { send, useScenario } from "../support/scenario.js";

// docs/contract.md "Forwarding": a client may lower the retries of one request with x-retry-max: N
// (0..MAX_RETRIES; a larger value counts as MAX_RETRIES, a non-integer is ignored); that header
// is not sent upstream.

const s = useScenario({ status: 503, body: "down" });

describe("x-retry-max", () => {
  it.each([
    ["0", 1],
    ["1", 2],
    ["2", 3],
    ["3", 4],
    ["99", 4],
  ])("x-retry-max: %s makes %i attempts (MAX_RETRIES=3)", async (value, attempts) => {
    const h = await s.start();
    const reply = await send(h, "/provider", { headers: { "x-retry-max": value } });
    expect(reply.status).toBe(503);
    expect(reply.text).toBe("down");
    expect(reply.attempts).toBe(attempts);
    expect(s.upstream.received).toHaveLength(attempts);
    for (const r of s.upstream.received) expect(r.headers["x-retry-max"]).toBeUndefined();
  });

  it("a value above MAX_RETRIES counts as MAX_RETRIES, whatever MAX_RETRIES is", async () => {
    const h = await s.start({ MAX_RETRIES: "1" });
    const reply = await send(h, "/provider", { headers: { "x-retry-max": "5" } });
    expect(reply.attempts).toBe(2);
  });

  it.each(["abc", "1.5", "-1", "", "1e1", "0x1", "2 retries"])(
    "x-retry-max: %j is ignored (MAX_RETRIES applies)",
    async (value) => {
      const h = await s.start();
      const reply = await send(h, "/provider", { headers: { "x-retry-max": value } });
      expect(reply.attempts).toBe(4);
      expect(s.upstream.received).toHaveLength(4);
      for (const r of s.upstream.received) {
        expect(r.rawHeaders.map((name) => name.toLowerCase())).not.toContain("x-retry-max");
      }
    },
  );

  it("x-retry-max: 0 still lets a transport failure through as the final 502", async () => {
    const h = await s.start();
    s.upstream.script({ reset: true });
    const reply = await send(h, "/provider", { headers: { "x-retry-max": "0" } });
    expect(reply.status).toBe(502);
    expect(reply.attempts).toBe(1);
    expect(s.upstream.received).toHaveLength(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total")).toBe(0);
  });

  it("is never sent upstream, in any case of its name", async () => {
    const h = await s.start();
    s.upstream.script({ status: 200 });
    await send(h, "/provider", { headers: { "X-Retry-Max": "2" } });
    const [r] = s.upstream.received;
    expect(r?.rawHeaders.map((name) => name.toLowerCase())).not.toContain("x-retry-max");
  });
});

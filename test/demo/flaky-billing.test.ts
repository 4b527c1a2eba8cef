import { Agent, request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DEFAULT_FAULT_RATES,
  type Fault,
  type FlakyBilling,
  mulberry32,
  pickFault,
  startFlakyBilling,
} from "../../demo/flaky-billing.js";

// The demo's claim "0 duplicates with the sidecar" rests on this service's dedupe being right,
// so it is tested on a real socket.

let billing: FlakyBilling;
let agent: Agent;
let script: Fault[] = [];

beforeEach(async () => {
  script = [];
  // Faults are scripted per arrival: the next entry of `script`, "none" once it is used up.
  billing = await startFlakyBilling({ seed: 1, slowMs: 5_000, decide: () => script.shift() ?? "none" });
  agent = new Agent();
});

afterEach(async () => {
  await agent.destroy();
  await billing.close();
});

async function post(name: string, key?: string, timeoutMs = 2_000) {
  const response = await request(`${billing.url}/provider`, {
    method: "POST",
    dispatcher: agent,
    headers: { "content-type": "application/json", ...(key === undefined ? {} : { "idempotency-key": key }) },
    body: JSON.stringify({ name }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return {
    status: response.statusCode,
    headers: response.headers,
    body: (await response.body.json()) as { id?: number },
  };
}

describe("flaky billing dedupe", () => {
  it("creates once per Idempotency-Key and replays the same provider", async () => {
    expect(await post("a", "k1")).toMatchObject({ status: 201, body: { id: 1 } });
    expect(await post("a", "k1")).toMatchObject({ status: 200, body: { id: 1 } });
    expect(await post("b", "k2")).toMatchObject({ status: 201, body: { id: 2 } });
    expect(billing.stats).toMatchObject({ attempts: 3, providersCreated: 2, duplicates: 0, replays: 1 });
  });

  it("counts a duplicate when the same name is created twice without a key", async () => {
    await post("a");
    await post("a");
    expect(billing.stats).toMatchObject({ providersCreated: 2, duplicates: 1, replays: 0 });
  });

  it("a lost answer created the provider: the keyed retry gets it back, no duplicate", async () => {
    script = ["lost"];
    await expect(post("a", "k1")).rejects.toThrow();
    expect(billing.stats.providersCreated).toBe(1);
    expect(await post("a", "k1")).toMatchObject({ status: 200, body: { id: 1 } });
    expect(billing.stats).toMatchObject({ attempts: 2, providersCreated: 1, duplicates: 0 });
  });

  it("a reset before the work creates nothing", async () => {
    script = ["reset"];
    await expect(post("a", "k1")).rejects.toThrow();
    expect(await post("a", "k1")).toMatchObject({ status: 201, body: { id: 1 } });
    expect(billing.stats.providersCreated).toBe(1);
  });

  it("503 and 429 (with Retry-After: 1) create nothing", async () => {
    script = ["503", "429"];
    expect((await post("a", "k1")).status).toBe(503);
    const limited = await post("a", "k1");
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("1");
    expect(await post("a", "k1")).toMatchObject({ status: 201, body: { id: 1 } });
  });

  it("a slow attempt created the provider: the retry after giving up replays it at once", async () => {
    script = ["slow"];
    await expect(post("a", "k1", 100)).rejects.toThrow();
    const started = performance.now();
    expect(await post("a", "k1")).toMatchObject({ status: 200, body: { id: 1 } });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(billing.stats.duplicates).toBe(0);
  });

  it("close() does not wait for a hung request", async () => {
    script = ["slow"];
    const pending = post("a", "k1").catch(() => "failed");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await billing.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await pending).toBe("failed");
    billing = await startFlakyBilling({ seed: 1 }); // afterEach closes it again
  });
});

describe("seeded faults", () => {
  it("mulberry32 is reproducible and uniform-ish in [0, 1)", () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const values = Array.from({ length: 1000 }, () => a());
    expect(values.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(values.reduce((sum, v) => sum + v, 0) / values.length).toBeCloseTo(0.5, 1);
  });

  it("pickFault depends on seed, name and attempt only, at roughly the configured rates", () => {
    expect(pickFault(7, "provider-0001", 1, DEFAULT_FAULT_RATES)).toBe(
      pickFault(7, "provider-0001", 1, DEFAULT_FAULT_RATES),
    );
    const faults = Array.from({ length: 4000 }, (_, i) => pickFault(7, `p-${i}`, 1, DEFAULT_FAULT_RATES));
    const failing = faults.filter((f) => f !== "none").length / faults.length;
    const expected = Object.values(DEFAULT_FAULT_RATES).reduce((sum, r) => sum + r, 0);
    expect(failing).toBeGreaterThan(expected - 0.03);
    expect(failing).toBeLessThan(expected + 0.03);
  });
});

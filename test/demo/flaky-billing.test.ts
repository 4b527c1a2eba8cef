import { Agent, request } from "undici";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
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

describe("seeded faults, pinned", () => {
  // The fleet simulator draws from mulberry32 too: its figures and the demo's faults change with
  // any change to this stream, so a few words of it are pinned.
  it("mulberry32 gives the same 32-bit words as always", () => {
    const words = (seed: number, n: number) => {
      const next = mulberry32(seed);
      return Array.from({ length: n }, () => next() * 2 ** 32);
    };
    expect(words(42, 5)).toEqual([2581720956, 1925393290, 3661312704, 2876485805, 750819978]);
    expect(words(0, 3)).toEqual([1144304738, 1416247, 958946056]);
  });

  it("the demo's seed gives the same faults to the same requests as always", () => {
    const firstAttempts = Array.from({ length: 20 }, (_, i) =>
      pickFault(42, `provider-${String(i).padStart(4, "0")}`, 1, DEFAULT_FAULT_RATES),
    );
    expect(firstAttempts.join(",")).toBe(
      "none,none,lost,none,none,503,none,none,none,none,503,none,none,none,none,429,slow,none,none,none",
    );
  });

  // The roll of an attempt: the first value of mulberry32 seeded with the FNV-1a hash of
  // "seed:name#attempt" (an independent copy of the hash, so that a change to either shows).
  const roll = (seed: number, name: string, attempt: number) => {
    let h = 0x811c9dc5;
    const text = `${seed}:${name}#${attempt}`;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    return mulberry32(h >>> 0)();
  };
  const only503 = (rate: number) => ({ "503": rate, "429": 0, reset: 0, slow: 0, lost: 0 });

  it("a fault's share of the rolls is [from, from + rate): a roll equal to the rate is not that fault", () => {
    for (const [name, attempt] of [
      ["provider-0000", 1],
      ["provider-0007", 3],
    ] as const) {
      const r = roll(7, name, attempt);
      expect(pickFault(7, name, attempt, only503(r))).toBe("none");
      expect(pickFault(7, name, attempt, only503(r + 2 ** -32))).toBe("503");
    }
    // The second kind's interval starts where the first one's ends.
    const r = roll(7, "provider-0000", 1);
    expect(pickFault(7, "provider-0000", 1, { ...only503(r / 2), "429": 1 })).toBe("429");
  });
});

describe("flaky billing requests", () => {
  it("answers 404 to anything but POST /provider, and counts no attempt for it", async () => {
    const other = async (method: string, path: string) =>
      (
        await request(`${billing.url}${path}`, {
          method,
          dispatcher: agent,
          body: method === "GET" ? null : "{}",
        })
      ).statusCode;
    expect(await other("GET", "/provider")).toBe(404);
    expect(await other("POST", "/providers")).toBe(404);
    expect(await other("PUT", "/other")).toBe(404);
    expect(billing.stats.attempts).toBe(0);
    expect(await other("POST", "/provider?trace=1")).toBe(201); // a query string does not matter
    expect(billing.stats.attempts).toBe(1);
  });

  it("numbers each name's attempts 1, 2, 3 for the fault decision, and counts each fault", async () => {
    const seen: string[] = [];
    const faults: Fault[] = ["503", "429", "none", "503"];
    const counted = await startFlakyBilling({
      seed: 1,
      decide: (name, attempt) => {
        seen.push(`${name}#${attempt}`);
        return faults.shift() ?? "none";
      },
    });
    try {
      for (const name of ["a", "a", "a", "b", "b"]) {
        await request(`${counted.url}/provider`, {
          method: "POST",
          dispatcher: agent,
          body: JSON.stringify({ name }),
        }).then((r) => r.body.text());
      }
      expect(seen).toEqual(["a#1", "a#2", "a#3", "b#1", "b#2"]);
      expect(counted.stats.faults).toEqual({ none: 2, "503": 2, "429": 1, reset: 0, slow: 0, lost: 0 });
      expect(counted.stats.attempts).toBe(5);
    } finally {
      await counted.close();
    }
  });

  it("takes a body of 64 KiB and refuses one byte more without counting an attempt", async () => {
    const body = (size: number) => {
      const text = JSON.stringify({ name: "big" });
      return text + " ".repeat(size - text.length); // JSON allows trailing whitespace
    };
    const send = (size: number) =>
      request(`${billing.url}/provider`, {
        method: "POST",
        dispatcher: agent,
        body: body(size),
        signal: AbortSignal.timeout(2_000),
      }).then((r) => r.statusCode);
    expect(await send(64 * 1024)).toBe(201);
    await expect(send(64 * 1024 + 1)).rejects.toThrow();
    expect(billing.stats.attempts).toBe(1);
  });

  it("fails to start, not hang, when its address is taken", async () => {
    const taken = startFlakyBilling({ seed: 1, port: billing.port });
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      taken.then(
        async (second) => {
          await second.close();
          return "started";
        },
        (error: NodeJS.ErrnoException) => error.code,
      ),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 1_000, "still pending");
      }),
    ]);
    clearTimeout(timer);
    expect(settled).toBe("EADDRINUSE");
  });

  it("close() leaves no timer running for a slow answer, whether its client gave up or not", async () => {
    // A live timer would hold the demo's process open for slowMs after its last run.
    const slowMs = 4_321;
    const set = vi.spyOn(globalThis, "setTimeout");
    const cleared = vi.spyOn(globalThis, "clearTimeout");
    const slow = await startFlakyBilling({ seed: 1, slowMs, decide: () => "slow" });
    try {
      const send = (name: string, timeoutMs: number) =>
        request(`${slow.url}/provider`, {
          method: "POST",
          dispatcher: agent,
          body: JSON.stringify({ name }),
          signal: AbortSignal.timeout(timeoutMs),
        }).then(
          () => "answered",
          () => "failed",
        );
      expect(await send("a", 100)).toBe("failed"); // gave up: its connection is closed
      const hanging = send("b", 5_000);
      for (let i = 0; i < 100 && slow.stats.attempts < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(slow.stats.attempts).toBe(2);
      await slow.close();
      expect(await hanging).toBe("failed");
      const timers = set.mock.calls.flatMap((call, i) =>
        call[1] === slowMs ? [set.mock.results[i]?.value] : [],
      );
      expect(timers).toHaveLength(2);
      const stopped = new Set(cleared.mock.calls.map((call) => call[0]));
      expect(timers.filter((timer) => !stopped.has(timer))).toEqual([]);
    } finally {
      set.mockRestore();
      cleared.mockRestore();
      await slow.close();
    }
  });
});

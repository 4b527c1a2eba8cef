import { describe, expect, it } from "vitest";
import { FAST_ENV, retryLogs, send, useScenario } from "../support/scenario.js";

// docs/contract.md "When it retries": the delay before retry N is min(BACKOFF_MAX_MS, BACKOFF_BASE_MS x 2^(N-1))
// with jitter (a factor uniform in [1-j, 1+j]; "full" = uniform in [0, delay]; 0 = none), and at
// most MAX_RETRIES retries are made. The 0.5 s / 1 s default timing is in legacy-client-behaviours.

// The throttle off: these runs fail every attempt on purpose, and the delays are what is measured.
const s = useScenario({ status: 503, body: "down" }, { ...FAST_ENV, RETRY_THROTTLE: "off" });

const delays = async (env: Record<string, string>, requests = 1) => {
  const h = await s.start(env);
  for (let i = 0; i < requests; i++) await send(h);
  return retryLogs(h).map((l) => l.delayMs as number);
};

describe("backoff", () => {
  it("doubles from BACKOFF_BASE_MS and is capped by BACKOFF_MAX_MS", async () => {
    expect(await delays({ BACKOFF_BASE_MS: "20", BACKOFF_MAX_MS: "50", MAX_RETRIES: "4" })).toEqual([
      20, 40, 50, 50,
    ]);
    const [a, b, c, d, e] = s.upstream.received.map((r) => r.at) as number[];
    expect((b as number) - (a as number)).toBeGreaterThanOrEqual(19);
    expect((c as number) - (b as number)).toBeGreaterThanOrEqual(39);
    expect((d as number) - (c as number)).toBeGreaterThanOrEqual(49);
    expect((e as number) - (d as number)).toBeGreaterThanOrEqual(49);
  });

  it("BACKOFF_JITTER=0.5 keeps each delay within [0.5, 1.5] x the nominal one, and varies it", async () => {
    const all = await delays(
      { BACKOFF_BASE_MS: "20", BACKOFF_JITTER: "0.5", CIRCUIT_FAILURE_THRESHOLD: "0" },
      4,
    );
    expect(all).toHaveLength(12);
    const nominal = [20, 40, 80];
    all.forEach((delay, i) => {
      const n = nominal[i % 3] as number;
      expect(delay).toBeGreaterThanOrEqual(n * 0.5);
      expect(delay).toBeLessThanOrEqual(n * 1.5);
    });
    expect(all.some((delay, i) => delay !== nominal[i % 3])).toBe(true);
  });

  it("BACKOFF_JITTER=full draws each delay from [0, nominal]", async () => {
    const all = await delays(
      { BACKOFF_BASE_MS: "20", BACKOFF_JITTER: "full", CIRCUIT_FAILURE_THRESHOLD: "0" },
      4,
    );
    expect(all).toHaveLength(12);
    const nominal = [20, 40, 80];
    all.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(nominal[i % 3] as number);
    });
    expect(all.some((delay, i) => delay !== nominal[i % 3])).toBe(true);
  });

  it("jitter never pushes a delay past BACKOFF_MAX_MS", async () => {
    const all = await delays(
      { BACKOFF_BASE_MS: "40", BACKOFF_MAX_MS: "40", BACKOFF_JITTER: "1", CIRCUIT_FAILURE_THRESHOLD: "0" },
      3,
    );
    expect(all).toHaveLength(9);
    for (const delay of all) expect(delay).toBeLessThanOrEqual(40);
  });

  it.each([
    ["0", 1],
    ["1", 2],
    ["5", 6],
  ])("MAX_RETRIES=%s makes at most %i attempts", async (max, attempts) => {
    const h = await s.start({ MAX_RETRIES: max, BACKOFF_BASE_MS: "5", BACKOFF_MAX_MS: "20" });
    const reply = await send(h);
    expect(reply.status).toBe(503);
    expect(reply.attempts).toBe(attempts);
    expect(s.upstream.received).toHaveLength(attempts);
    expect(await h.metric("retry_sidecar_retries_total")).toBe(attempts - 1);
  });
});

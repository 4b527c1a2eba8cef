import { monitorEventLoopDelay } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SidecarProcess, sample, scrape, startSidecarProcess } from "../support/sidecar-process.js";
import { type DedupeBilling, startDedupeBilling } from "./support/dedupe-billing.js";
import { type Outcome, startLoad } from "./support/load.js";

// Nothing lost, nothing doubled: 20 s of POST /provider at 300 req/s through the real sidecar
// process, against a billing that dedupes by Idempotency-Key and, on purpose, fails before
// creating, resets, and loses its answer after creating. Every client request must get a whole
// answer; every success must name the one provider created for it; no provider twice; RSS flat.

const SEED = Number(process.env.SOAK_SEED ?? 20261128);
const RATE = 300;
// SOAK_SECONDS lengthens the run by hand (e.g. 120) to see whether RSS levels off; CI uses 20.
const DURATION_MS = Number(process.env.SOAK_SECONDS ?? 20) * 1000;
const MAX_REQUESTS = RATE * (DURATION_MS / 1000);

let billing: DedupeBilling;
let sidecar: SidecarProcess;
let outcomes: Outcome[];
const rss: Array<{ atMs: number; bytes: number; heap: number }> = [];
let metricsAtEnd = "";

beforeAll(async () => {
  billing = await startDedupeBilling(SEED, {
    fail_before: 0.06, // 503, nothing created
    reset_before: 0.03, // connection reset, nothing created
    reset_after: 0.03, // created, then the connection reset: the answer is lost
    fail_after: 0.03, // created, then 502: the answer is lost
    hang_after: 0.01, // created, then no answer: the per-try timeout fires
    slow: 0.1, // 20-100 ms
  });
  sidecar = await startSidecarProcess({
    UPSTREAM_URL: billing.url,
    MAX_RETRIES: "3",
    BACKOFF_BASE_MS: "20",
    BACKOFF_MAX_MS: "200",
    // Generous per-try limit: on a busy 2-core CI machine a healthy answer can take 300+ ms, and
    // spurious timeouts would open the circuit (which is correct, but not what this test is about).
    PER_TRY_TIMEOUT_MS: "2000",
    REQUEST_TIMEOUT_MS: "10000",
    CIRCUIT_OPEN_MS: "1000",
    RETRY_BUDGET_RATIO: "0.5",
    LOG_LEVEL: "info", // production's default: one line per request and per retry
  });
  const started = Date.now();
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const load = startLoad({
    port: sidecar.proxyPort,
    rate: RATE,
    durationMs: DURATION_MS,
    maxRequests: MAX_REQUESTS,
    timeoutMs: 15_000,
    body: (i) => JSON.stringify({ name: `p-${i}`, plan: "gold" }),
  });
  const sampler = setInterval(() => {
    void scrape(sidecar.adminPort).then((text) =>
      rss.push({
        atMs: Date.now() - started,
        bytes: sample(text, "process_resident_memory_bytes"),
        heap: sample(text, "nodejs_heap_size_used_bytes"),
      }),
    );
  }, 2_000);
  outcomes = await load.done;
  clearInterval(sampler);
  metricsAtEnd = await scrape(sidecar.adminPort);
  if (process.env.SOAK_DEBUG) {
    console.log("LAG max ms", lag.max / 1e6, "p99", lag.percentile(99) / 1e6);
    const circuit = sidecar.logs.filter((l) => l.msg === "circuit state changed");
    console.log(
      "CIRCUIT",
      JSON.stringify(circuit.map((l) => [Date.parse(String(l.time)) - started, l.state])),
    );
    const firstOpen = circuit[0] === undefined ? 0 : Date.parse(String(circuit[0].time));
    console.log(
      "BEFORE",
      JSON.stringify(
        sidecar.logs
          .filter(
            (l) => Date.parse(String(l.time)) <= firstOpen && Date.parse(String(l.time)) > firstOpen - 700,
          )
          .map((l) => [Date.parse(String(l.time)) - started, l.msg, l.status ?? l.reason, l.durationMs]),
      ),
    );
    console.log(
      metricsAtEnd
        .split("\n")
        .filter((l) => l.startsWith("retry_sidecar_") && !l.includes("bucket"))
        .join("\n"),
    );
    const statuses: Record<string, number> = {};
    for (const o of outcomes)
      statuses[`${o.status} ${o.body?.slice(0, 60)}`] =
        (statuses[`${o.status} ${o.body?.slice(0, 60)}`] ?? 0) + 1;
    console.log(Object.entries(statuses).filter(([, n]) => n > 3));
  }
  rss.push({
    atMs: Date.now() - started,
    bytes: sample(metricsAtEnd, "process_resident_memory_bytes"),
    heap: sample(metricsAtEnd, "nodejs_heap_size_used_bytes"),
  });
}, DURATION_MS + 70_000);

afterAll(async () => {
  sidecar?.kill();
  await billing?.close();
});

const isSuccess = (o: Outcome) => o.status !== undefined && o.status >= 200 && o.status < 300;

describe(`load: ${RATE} req/s for ${DURATION_MS / 1000} s against a lossy, deduplicating billing (seed ${SEED})`, () => {
  it("every client request got one whole answer, none was lost", () => {
    expect(outcomes.length).toBeGreaterThanOrEqual(MAX_REQUESTS * 0.95); // the timer kept its rate
    const unanswered = outcomes.filter((o) => o.error !== undefined || o.status === undefined || !o.complete);
    if (unanswered.length > 0) {
      const kinds: Record<string, number> = {};
      for (const o of unanswered) {
        const kind = `${o.status ?? "-"} ${o.error ?? "incomplete"}`;
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }
      console.log("UNANSWERED", JSON.stringify(kinds), JSON.stringify(unanswered.slice(0, 3)));
      const ids = new Set(unanswered.slice(0, 3).map((o) => `load-${o.index}`));
      console.log("THEIR SIDECAR LOG", JSON.stringify(sidecar.logs.filter((l) => ids.has(String(l.reqId)))));
    }
    expect(unanswered.length).toBe(0);
  });

  it("every success names exactly the one provider created for that request; no provider twice", () => {
    const ids = new Set<number>();
    for (const outcome of outcomes.filter(isSuccess)) {
      const provider = JSON.parse(outcome.body ?? "") as { id: number; name: string };
      expect(provider.name).toBe(`p-${outcome.index}`);
      expect(billing.createdByName.get(provider.name)).toBe(1);
      expect(ids.has(provider.id)).toBe(false);
      ids.add(provider.id);
    }
    const duplicates = [...billing.createdByName.entries()].filter(([, count]) => count > 1);
    expect(duplicates).toEqual([]);
    expect(billing.missingKey).toBe(0);
  });

  it("the few failures are the billing's last 502/503 or the sidecar's own JSON answer, never a hang", () => {
    for (const outcome of outcomes.filter((o) => !isSuccess(o))) {
      expect([502, 503, 504]).toContain(outcome.status);
      const body = JSON.parse(outcome.body ?? "") as { reason?: string; error?: string };
      // Billing's own answers say "error" only; the sidecar's carry a reason.
      expect(
        body.reason !== undefined || ["busy", "bad gateway behind billing"].includes(body.error ?? ""),
      ).toBe(true);
    }
    // Retries recover almost everything; the rest is bounded even on a loaded CI machine.
    expect(outcomes.filter(isSuccess).length).toBeGreaterThanOrEqual(outcomes.length * 0.95);
  });

  it("the metrics add up: every answer counted once, every attempt accounted for", () => {
    const answered = sample(metricsAtEnd, "retry_sidecar_requests_total", { route: "/provider" });
    const attempts = sample(metricsAtEnd, "retry_sidecar_upstream_attempts_total", { route: "/provider" });
    const retries = sample(metricsAtEnd, "retry_sidecar_retries_total", { route: "/provider" });
    const timeouts = sample(metricsAtEnd, "retry_sidecar_upstream_attempts_total", { outcome: "timeout" });
    const resets = sample(metricsAtEnd, "retry_sidecar_upstream_attempts_total", { outcome: "reset" });
    // Answered at once by an open circuit: no attempt at all.
    const fastFails = outcomes.filter((o) => o.attempts === 0).length;
    expect(answered).toBe(outcomes.length);
    // The attempts each client was told about (x-attempt-count) are the attempts counted; each
    // forwarded request made one first attempt and each retry one more.
    expect(
      outcomes.reduce((sum, o) => sum + (o.attempts ?? 0), 0),
      "sum of x-attempt-count",
    ).toBe(attempts);
    expect(attempts, "first attempts + retries").toBe(outcomes.length - fastFails + retries);
    // The billing saw every attempt but those the sidecar gave up on (timeout) before it read them.
    expect(billing.attempts).toBeLessThanOrEqual(attempts);
    expect(attempts - billing.attempts).toBeLessThanOrEqual(timeouts);
    const f = billing.faults;
    expect(f.fail_before + f.reset_before + f.reset_after + f.fail_after + f.hang_after).toBeGreaterThan(
      outcomes.length * 0.1,
    ); // the faults really happened
    // Every injected reset and hang shows up as a reset or a timeout; resets come from nowhere else.
    expect(resets).toBeLessThanOrEqual(f.reset_before + f.reset_after);
    expect(resets + timeouts).toBeGreaterThanOrEqual(f.reset_before + f.reset_after + f.hang_after);
  });

  it("RSS stays flat: the end of the run within 1.5x the sample taken after warm-up", () => {
    const warm = rss.find((s) => s.atMs >= 5_000) ?? rss[0];
    const end = rss.at(-1);
    expect(warm).toBeDefined();
    expect(end).toBeDefined();
    const mb = (b: number) => Math.round(b / 1e5) / 10;
    const successes = outcomes.filter(isSuccess).length;
    const retried = sample(metricsAtEnd, "retry_sidecar_retries_total", { route: "/provider" });
    console.log(
      JSON.stringify({
        soak: "load",
        seed: SEED,
        requestsSent: outcomes.length,
        answered: outcomes.filter((o) => o.status !== undefined && o.complete).length,
        succeeded: successes,
        failedAfterRetries: outcomes.length - successes,
        duplicates: [...billing.createdByName.values()].filter((c) => c > 1).length,
        providersCreated: billing.byKey.size,
        upstreamAttempts: billing.attempts,
        retries: retried,
        faultsInjected: billing.faults,
        rssMb: {
          afterWarmUp: mb(warm?.bytes ?? 0),
          end: mb(end?.bytes ?? 0),
          series: rss.map((s) => mb(s.bytes)),
        },
        heapUsedMb: rss.map((s) => mb(s.heap)),
      }),
    );
    expect(end?.bytes ?? 0).toBeLessThan((warm?.bytes ?? 0) * 1.5);
  });

  it("the sidecar is still up afterwards and drains to exit 0 on SIGTERM", async () => {
    expect((await fetch(`http://127.0.0.1:${sidecar.adminPort}/healthz`)).status).toBe(200);
    sidecar.child.kill("SIGTERM");
    expect(await sidecar.exited).toMatchObject({ code: 0, signal: null });
  });
});

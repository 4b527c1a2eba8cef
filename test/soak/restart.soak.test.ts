import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SidecarProcess, sample, scrape, startSidecarProcess } from "../support/sidecar-process.js";
import { type DedupeBilling, startDedupeBilling } from "./support/dedupe-billing.js";
import { type Outcome, startLoad } from "./support/load.js";

// The upstream restarts in the middle of a load run: its sockets die with attempts in flight
// (resets), then for 600 ms nothing listens (connection refused), then it is back on the same
// port. Every client request must still get one whole answer, the sidecar must stay up, the
// metrics must show the resets and refusals, and traffic must recover once the upstream is back.

const DOWN_MS = 600;
let billing: DedupeBilling;
let sidecar: SidecarProcess;
let outcomes: Outcome[];
let inFlightAtCrash = 0;
let backAt = 0;
let metrics = "";

beforeAll(async () => {
  billing = await startDedupeBilling(7, {}, 100); // healthy, 100 ms per answer
  sidecar = await startSidecarProcess({
    UPSTREAM_URL: billing.url,
    MAX_RETRIES: "3",
    BACKOFF_BASE_MS: "50",
    BACKOFF_MAX_MS: "400",
    PER_TRY_TIMEOUT_MS: "3000",
    REQUEST_TIMEOUT_MS: "10000",
    CIRCUIT_OPEN_MS: "300",
  });
  const load = startLoad({
    port: sidecar.proxyPort,
    rate: 200,
    durationMs: 7_000,
    maxRequests: 1400,
    body: (i) => JSON.stringify({ name: `r-${i}` }),
  });
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const waitUntil = Date.now() + 5_000;
  while (billing.inFlight < 5 && Date.now() < waitUntil)
    await new Promise((resolve) => setTimeout(resolve, 5));
  inFlightAtCrash = billing.inFlight;
  await billing.crash();
  await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
  await billing.restart();
  backAt = Date.now();
  outcomes = await load.done;
  metrics = await scrape(sidecar.adminPort);
}, 60_000);

afterAll(async () => {
  sidecar?.kill();
  await billing?.close();
});

const ok = (o: Outcome) => o.status === 200 || o.status === 201;

describe("upstream restarted in the middle of a load run", () => {
  it("crashed the upstream with attempts in flight", () => {
    expect(inFlightAtCrash).toBeGreaterThanOrEqual(5);
  });

  it("every client request got one whole answer: the upstream's, or the sidecar's own JSON 502/503", () => {
    const broken = outcomes.filter((o) => o.error !== undefined || o.status === undefined || !o.complete);
    expect(broken).toEqual([]);
    for (const outcome of outcomes.filter((o) => !ok(o))) {
      expect([502, 503]).toContain(outcome.status);
      expect(JSON.parse(outcome.body ?? "")).toHaveProperty("reason");
    }
    console.log(
      JSON.stringify({
        soak: "restart",
        requestsSent: outcomes.length,
        inFlightAtCrash,
        downMs: DOWN_MS,
        succeeded: outcomes.filter(ok).length,
        failed: outcomes.filter((o) => !ok(o)).length,
        resets: sample(metrics, "retry_sidecar_upstream_attempts_total", { outcome: "reset" }),
        connectErrors: sample(metrics, "retry_sidecar_upstream_attempts_total", { outcome: "connect_error" }),
      }),
    );
  });

  it("counts the attempts cut by the crash as resets and the refused ones as connect_error", () => {
    expect(
      sample(metrics, "retry_sidecar_upstream_attempts_total", { outcome: "reset" }),
    ).toBeGreaterThanOrEqual(inFlightAtCrash);
    expect(
      sample(metrics, "retry_sidecar_upstream_attempts_total", { outcome: "connect_error" }),
    ).toBeGreaterThan(0);
    expect(sample(metrics, "retry_sidecar_requests_total", { route: "/provider" })).toBe(outcomes.length);
  });

  it("recovers: every request sent 1 s after the upstream came back succeeds", () => {
    const late = outcomes.filter((o) => o.startedAt >= backAt + 1_000);
    expect(late.length).toBeGreaterThan(100);
    expect(late.filter((o) => !ok(o))).toEqual([]);
  });

  it("no provider was created twice across the crash", () => {
    expect([...billing.createdByName.values()].filter((count) => count > 1)).toEqual([]);
    for (const outcome of outcomes.filter(ok)) {
      expect((JSON.parse(outcome.body ?? "") as { name: string }).name).toBe(`r-${outcome.index}`);
    }
  });

  it("the sidecar stayed up and exits 0 on SIGTERM", async () => {
    expect((await fetch(`http://127.0.0.1:${sidecar.adminPort}/healthz`)).status).toBe(200);
    sidecar.child.kill("SIGTERM");
    expect(await sidecar.exited).toMatchObject({ code: 0, signal: null });
  });
});

import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { json, type Reply, send, steppingClock, useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";

// docs/contract.md "Circuit breaker": CIRCUIT_FAILURE_THRESHOLD consecutive retryable outcomes
// open the route's circuit for CIRCUIT_OPEN_MS; while open, 503 at once with Retry-After
// (seconds left, rounded up) and a JSON body, nothing upstream; then one probe (half-open, the
// others still get the fast 503): a non-retryable outcome closes, a retryable one reopens.
// A request whose retries meet an open circuit returns its last outcome. Gauge: 0/1/2.

const s = useScenario({ status: 503, body: "down" });

const state = (h: Harness, route = "/provider") => h.metric("retry_sidecar_circuit_state", { route });
/** One attempt, no retries: each request is exactly one outcome for the breaker. */
const once = (h: Harness, path = "/provider") => send(h, path, { headers: { "x-retry-max": "0" } });

function expectFastFail(reply: Reply, attempts = 0) {
  expect(reply.status).toBe(503);
  expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
  const body = json(reply);
  // Exactly the contract's three fields; the route is the metrics' and the log's to say.
  expect(body).toEqual({ error: expect.any(String), reason: "circuit_open", attempts });
  expect(reply.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
}

/** Three single-attempt 503s: the circuit of /provider opens on the third. */
async function openCircuit(h: Harness): Promise<void> {
  for (let i = 0; i < 3; i++) expect((await once(h)).status).toBe(503);
  expect(await state(h)).toBe(1);
}

describe("circuit breaker", () => {
  it("opens after 3 consecutive retryable outcomes, then fails fast without reaching upstream", async () => {
    const h = await s.start({ CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_OPEN_MS: "2500" });
    expect(await state(h)).toBe(0);
    expect((await once(h)).text).toBe("down");
    expect((await once(h)).text).toBe("down");
    expect(await state(h)).toBe(0);
    const thirdStarted = performance.now();
    expect((await once(h)).text).toBe("down");
    const thirdEnded = performance.now();
    expect(await state(h)).toBe(1);
    expect(s.upstream.received).toHaveLength(3);

    const fastStarted = performance.now();
    const fast = await send(h);
    const fastEnded = performance.now();
    expectFastFail(fast);
    // Retry-After = ceil(seconds left of the 2.5 s): 3 unless the machine stalled for 0.5 s.
    const leftAtMost = 2500 - (fastStarted - thirdEnded);
    const leftAtLeast = 2500 - (fastEnded - thirdStarted);
    const retryAfter = Number(fast.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil(leftAtLeast / 1000));
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(leftAtMost / 1000));

    for (let i = 0; i < 3; i++) expectFastFail(await send(h));
    expect(s.upstream.received).toHaveLength(3);
    expect(
      await h.metric("retry_sidecar_requests_total", { route: "/provider", method: "POST", code: "503" }),
    ).toBe(7);
  });

  it("Retry-After counts the seconds left down, rounded up, until the probe goes", async () => {
    const clock = steppingClock();
    const h = await s.start(
      { CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_OPEN_MS: "10000" },
      { clock: clock.now },
    );
    await openCircuit(h);
    const retryAfter = async () => {
      const reply = await send(h);
      expectFastFail(reply);
      return reply.headers.get("retry-after");
    };
    // Real time passes too (a few ms per request): each step stays up to 0.9 s clear of a whole second.
    expect(await retryAfter()).toBe("10");
    clock.advance(4_100); // 5.9 s left, less the real time spent
    expect(await retryAfter()).toBe("6");
    clock.advance(3_900); // 2 s left
    expect(await retryAfter()).toBe("2");
    clock.advance(1_000); // 1 s left
    expect(await retryAfter()).toBe("1");
    expect(s.upstream.received).toHaveLength(3);
    clock.advance(1_000);
    s.upstream.script({ status: 200, body: "probe ok" });
    const probe = await send(h);
    expect(probe.status).toBe(200);
    expect(s.upstream.received).toHaveLength(4);
    expect(await state(h)).toBe(0);
  });

  it("counts only consecutive failures: a success in between starts the count again", async () => {
    const h = await s.start({ CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_OPEN_MS: "5000" });
    s.upstream.script({ status: 503 }, { status: 503 }, { status: 200 }, { status: 503 }, { status: 503 });
    for (let i = 0; i < 5; i++) await once(h);
    expect(await state(h)).toBe(0);
    expect((await once(h)).text).toBe("down");
    expect(await state(h)).toBe(1);
    expect(s.upstream.received).toHaveLength(6);
  });

  it("timeouts and resets count as failures too", async () => {
    const h = await s.start({
      CIRCUIT_FAILURE_THRESHOLD: "3",
      CIRCUIT_OPEN_MS: "5000",
      PER_TRY_TIMEOUT_MS: "300",
    });
    s.upstream.script({ reset: true }, { status: 200, delayMs: 2000 }, { status: 429 });
    expect((await once(h)).status).toBe(502);
    expect((await once(h)).status).toBe(504);
    expect(await state(h)).toBe(0);
    expect((await once(h)).status).toBe(429);
    expect(await state(h)).toBe(1);
  });

  it("after the open period one probe goes (half-open, gauge 2); its success closes the circuit", async () => {
    const h = await s.start({ CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_OPEN_MS: "300" });
    await openCircuit(h);
    await sleep(350);
    s.upstream.script({ status: 200, body: "probe ok", delayMs: 1000 }, { status: 200, body: "after" });
    const probe = send(h);
    await s.upstream.waitForRequests(4);
    expect(await state(h)).toBe(2);

    // Meanwhile the others keep getting the fast 503.
    const concurrent = await send(h);
    expectFastFail(concurrent);
    expect(s.upstream.received).toHaveLength(4);

    const probeReply = await probe;
    expect(probeReply.status).toBe(200);
    expect(probeReply.text).toBe("probe ok");
    expect(await state(h)).toBe(0);

    const after = await send(h);
    expect(after.status).toBe(200);
    expect(after.text).toBe("after");
    expect(s.upstream.received).toHaveLength(5);
    // Each change is logged at warn (docs/contract.md "Logs"), in order.
    const changes = h.logs.filter((l) => l.msg === "circuit state changed");
    expect(changes.map((l) => [l.level, l.route, l.state])).toEqual([
      ["warn", "/provider", "open"],
      ["warn", "/provider", "half-open"],
      ["warn", "/provider", "closed"],
    ]);
  });

  it("an answer from before the circuit opened does not close it: the open period and the one probe hold", async () => {
    const h = await s.start({ CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_OPEN_MS: "5000" });
    s.upstream.script(
      { status: 200, body: "slow ok", delayMs: 600 },
      { status: 503 },
      { status: 503 },
      { status: 503 },
    );
    const slow = once(h);
    await s.upstream.waitForRequests(1);
    await openCircuit(h);
    const slowReply = await slow;
    expect(slowReply.status).toBe(200);
    expect(await state(h)).toBe(1);
    expectFastFail(await send(h));
    expect(s.upstream.received).toHaveLength(4);
  });

  it("once the open period is over, a scrape no longer reports it open, even with no traffic", async () => {
    const clock = steppingClock();
    const h = await s.start(
      { CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_OPEN_MS: "10000" },
      { clock: clock.now },
    );
    await openCircuit(h);
    clock.advance(10_000);
    // The next request would go upstream as the probe: the circuit is half-open, not open.
    expect(await state(h)).toBe(2);
    const text = await (await fetch(`${h.adminUrl}/metrics`)).text();
    expect(text).toContain('retry_sidecar_circuit_state{route="/provider"} 2');
    expect(s.upstream.received).toHaveLength(3);
  });

  it("a probe whose client leaves lets the next request probe", async () => {
    const clock = steppingClock();
    const h = await s.start(
      { CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_OPEN_MS: "10000" },
      { clock: clock.now },
    );
    await openCircuit(h);
    clock.advance(10_000);
    s.upstream.script(
      { status: 200, body: "never read", delayMs: 3000 },
      { status: 200, body: "second probe" },
    );
    const controller = new AbortController();
    const abandoned = fetch(`${h.url}/provider`, {
      method: "POST",
      body: "{}",
      signal: controller.signal,
    }).catch(() => "aborted");
    await s.upstream.waitForRequests(4);
    controller.abort();
    expect(await abandoned).toBe("aborted");
    expect(await s.upstream.closed(3)).toBe("aborted");
    await h.waitForLog((l) => l.msg === "request completed" && l.status === 499);
    const next = await send(h);
    expect(next.status).toBe(200);
    expect(next.text).toBe("second probe");
    expect(s.upstream.received).toHaveLength(5);
    expect(await state(h)).toBe(0);
  });

  it("a probe that fails retryably opens the circuit again", async () => {
    const clock = steppingClock();
    const h = await s.start(
      { CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_OPEN_MS: "10000" },
      { clock: clock.now },
    );
    await openCircuit(h);
    clock.advance(10_000);
    const probe = await send(h);
    expect(probe.status).toBe(503);
    expect(probe.text).toBe("down");
    // The probe's own retry meets the reopened circuit: one attempt only.
    expect(probe.attempts).toBe(1);
    expect(s.upstream.received).toHaveLength(4);
    expect(await state(h)).toBe(1);
    expect(
      await h.metric("retry_sidecar_retries_skipped_total", { route: "/provider", reason: "circuit_open" }),
    ).toBe(1);

    expectFastFail(await send(h));
    expect(s.upstream.received).toHaveLength(4);
  });

  it("a request whose retry meets an open circuit returns its last outcome", async () => {
    const h = await s.start({ CIRCUIT_FAILURE_THRESHOLD: "3", CIRCUIT_OPEN_MS: "5000" });
    s.upstream.fallback = { status: 503, body: "down", headers: { "x-upstream": "yes" } };
    const reply = await send(h);
    expect(reply.status).toBe(503);
    expect(reply.text).toBe("down");
    expect(reply.headers.get("x-upstream")).toBe("yes");
    expect(reply.attempts).toBe(3);
    expect(s.upstream.received).toHaveLength(3);
    expect(await state(h)).toBe(1);
    expect(
      await h.metric("retry_sidecar_retries_skipped_total", { route: "/provider", reason: "circuit_open" }),
    ).toBe(1);
    expect(await h.metric("retry_sidecar_retries_total", { route: "/provider", reason: "503" })).toBe(2);
    expect(await h.metric("retry_sidecar_retries_exhausted_total")).toBe(0);
  });

  it("a retry waiting in its backoff when the circuit opens does not go upstream", async () => {
    const h = await s.start({
      CIRCUIT_FAILURE_THRESHOLD: "3",
      CIRCUIT_OPEN_MS: "5000",
      BACKOFF_BASE_MS: "500",
    });
    const waiting = send(h); // 503, then a 500 ms wait before its retry
    await s.upstream.waitForRequests(1);
    // Two more failures (three in a row with the first) open the circuit during that wait.
    await once(h);
    await once(h);
    expect(await state(h)).toBe(1);
    const reply = await waiting;
    expect(s.upstream.received).toHaveLength(3);
    // Its upstream answer was dropped before the wait: it gets the circuit's own 503.
    expectFastFail(reply, 1);
    expect(reply.attempts).toBe(1);
    expect(reply.headers.get("retry-after")).toBe("5");
    expect(
      await h.metric("retry_sidecar_retries_skipped_total", { route: "/provider", reason: "circuit_open" }),
    ).toBe(1);
    expect(await h.metric("retry_sidecar_retries_total")).toBe(0);
  });

  it("a transport failure waiting to retry when the circuit opens is answered as it was", async () => {
    const h = await s.start({
      CIRCUIT_FAILURE_THRESHOLD: "3",
      CIRCUIT_OPEN_MS: "5000",
      BACKOFF_BASE_MS: "500",
    });
    s.upstream.script({ reset: true });
    const waiting = send(h);
    await s.upstream.waitForRequests(1);
    await once(h);
    await once(h);
    const reply = await waiting;
    expect(s.upstream.received).toHaveLength(3);
    expect(reply.status).toBe(502);
    expect(json(reply)).toMatchObject({ reason: "reset", attempts: 1 });
    expect(reply.attempts).toBe(1);
    expect(await h.metric("retry_sidecar_retries_skipped_total", { reason: "circuit_open" })).toBe(1);
  });

  it("CIRCUIT_FAILURE_THRESHOLD=0 never opens", async () => {
    // The retry throttle would stop the retries of this all-failing upstream (not the breaker).
    const h = await s.start({
      CIRCUIT_FAILURE_THRESHOLD: "0",
      CIRCUIT_OPEN_MS: "5000",
      RETRY_THROTTLE: "off",
    });
    for (let i = 0; i < 12; i++) expect((await once(h)).text).toBe("down");
    const retried = await send(h);
    expect(retried.attempts).toBe(4);
    expect(s.upstream.received).toHaveLength(16);
    expect(await state(h)).toBe(0);
    expect(await h.metric("retry_sidecar_retries_skipped_total", { reason: "circuit_open" })).toBe(0);
  });

  it("is per route: /provider open does not affect /invoice", async () => {
    const h = await s.start({
      ROUTES: "/provider,/invoice",
      CIRCUIT_FAILURE_THRESHOLD: "3",
      CIRCUIT_OPEN_MS: "5000",
    });
    // Failures on the two routes interleaved: each route counts its own.
    await once(h, "/provider");
    await once(h, "/invoice");
    await once(h, "/provider/1");
    await once(h, "/invoice/2");
    expect(await state(h, "/provider")).toBe(0);
    expect(await state(h, "/invoice")).toBe(0);
    await once(h, "/provider");
    expect(await state(h, "/provider")).toBe(1);
    expect(await state(h, "/invoice")).toBe(0);

    expectFastFail(await send(h, "/provider/9"));
    s.upstream.script({ status: 200, body: "invoice ok" });
    const invoice = await send(h, "/invoice/7");
    expect(invoice.status).toBe(200);
    expect(invoice.text).toBe("invoice ok");
    expect(s.upstream.received.map((r) => r.url)).toEqual([
      "/provider",
      "/invoice",
      "/provider/1",
      "/invoice/2",
      "/provider",
      "/invoice/7",
    ]);
  });
});

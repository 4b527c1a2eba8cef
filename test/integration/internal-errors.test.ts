import { Agent, type Dispatcher } from "undici";
import { describe, expect, it } from "vitest";
import { json, send, steppingClock, useScenario } from "../support/scenario.js";

// A bug below the retry loop (here the connection pool throwing when asked to send) is not an
// upstream failure: the client gets 500 with a JSON body, the sidecar logs "forwarding failed",
// counts and logs the answer as its own (reason "internal") and goes on serving, and nothing the
// request held stays taken (its place among the attempts in
// flight, which overload protection counts against its limit).

const s = useScenario({ status: 200, body: "ok" });

/** undici's Agent, except that the dispatches numbered in `throwAt` (1-based) throw. */
class BrokenPool extends Agent {
  private calls = 0;

  constructor(private readonly throwAt: readonly number[]) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.calls += 1;
    if (this.throwAt.includes(this.calls)) throw new Error("pool bug");
    return super.dispatch(options, handler);
  }
}

describe("a bug below the retry loop", () => {
  it("at the first attempt: 500 internal, logged, its place in flight given back, the next request forwarded", async () => {
    const h = await s.start({}, { dispatcher: new BrokenPool([1]) });
    const broken = await send(h, "/provider", { headers: { "x-request-id": "bug-1" } });
    expect(broken.status).toBe(500);
    expect(json(broken)).toEqual({ error: "internal error in retry-sidecar", reason: "internal" });
    expect(broken.headers.get("x-request-id")).toBe("bug-1");
    const logged = h.logs.find((l) => l.msg === "forwarding failed");
    expect(logged).toMatchObject({ level: "error", reqId: "bug-1", route: "/provider" });
    // Counted and logged like the sidecar's other answers.
    expect(await h.metric("retry_sidecar_local_replies_total", { reason: "internal" })).toBe(1);
    expect(await h.metric("retry_sidecar_requests_total", { route: "/provider", code: "500" })).toBe(1);
    const line = await h.waitForLog((l) => l.msg === "request completed" && l.reqId === "bug-1");
    expect(line).toMatchObject({
      level: "warn",
      status: 500,
      attempts: 1,
      route: "/provider",
      path: "/provider",
    });
    expect(line.error).toMatchObject({ message: "pool bug" });
    expect(await h.metric("retry_sidecar_upstream_in_flight")).toBe(0);

    const next = await send(h);
    expect(next.status).toBe(200);
    expect(next.text).toBe("ok");
    expect(await h.metric("retry_sidecar_upstream_in_flight")).toBe(0);

    // Nor does shutdown wait for it: the drain finds nothing in flight.
    await h.sidecar.shutdown();
    expect(h.logs.find((l) => l.msg === "draining")).toMatchObject({ inFlight: 0 });
    expect(h.logs.some((l) => l.msg.startsWith("grace period over"))).toBe(false);
  });

  it("at a retry, after its wait: 500 internal, and the retry's place in flight given back", async () => {
    s.upstream.script({ status: 503 });
    const h = await s.start({}, { dispatcher: new BrokenPool([2]) });
    const broken = await send(h);
    expect(broken.status).toBe(500);
    expect(s.upstream.received).toHaveLength(1);
    const line = await h.waitForLog((l) => l.msg === "request completed" && l.status === 500);
    expect(line).toMatchObject({ attempts: 2 });
    expect(await h.metric("retry_sidecar_upstream_in_flight")).toBe(0);
    expect((await send(h)).status).toBe(200);
  });

  it("in the circuit's half-open probe: the probe is let go of, so the next request probes", async () => {
    const clock = steppingClock();
    const h = await s.start(
      { CIRCUIT_FAILURE_THRESHOLD: "1", CIRCUIT_OPEN_MS: "10000", MAX_RETRIES: "0" },
      { clock: clock.now, dispatcher: new BrokenPool([2]) },
    );
    s.upstream.script({ status: 503 });
    expect((await send(h)).status).toBe(503); // the upstream's: the circuit opens
    expect(await h.metric("retry_sidecar_circuit_state", { route: "/provider" })).toBe(1);
    clock.advance(10_000);
    expect((await send(h)).status).toBe(500); // the probe meets the bug
    const next = await send(h);
    expect(next.status).toBe(200); // probes again, instead of the circuit's 503 for good
    expect(next.text).toBe("ok");
    expect(await h.metric("retry_sidecar_circuit_state", { route: "/provider" })).toBe(0);
  });
});

import { describe, expect, it } from "vitest";
import type { EndpointsView } from "../../src/endpoints/endpoint-set.js";
import { send, useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";

// Every attempt ends once, whatever became of its answer: an endpoint's attempts in flight
// (GET /endpoints, the balancer's "less loaded of two") count only what is still out. (Interim
// 1xx answers: test/faults/upstream-faults.test.ts.)

const s = useScenario({ status: 200, body: "ok" });

async function inFlight(h: Harness): Promise<number[]> {
  const view = (await (await fetch(`${h.adminUrl}/endpoints`)).json()) as EndpointsView;
  return view.endpoints.map((e) => e.inFlight);
}

describe("an attempt's end", () => {
  // The retry loop decides at the response headers, so the body is still to come: a short one is
  // read to its end (the connection is kept), a long one is cut off.
  it.each([
    ["short, read to its end", "busy"],
    ["long, cut off", "b".repeat(1024 * 1024)],
  ])("an answer dropped for a retry (%s) leaves nothing in flight", async (_name, body) => {
    const h = await s.start();
    s.upstream.script({ status: 503, body }, { status: 503, body });
    const reply = await send(h);
    expect(reply.status).toBe(200);
    expect(reply.attempts).toBe(3);
    expect(await inFlight(h)).toEqual([0]);
  });

  it("an attempt that failed (the connection reset) leaves nothing in flight", async () => {
    const h = await s.start();
    s.upstream.script({ reset: true }, { reset: true });
    const reply = await send(h);
    expect(reply.status).toBe(200);
    expect(reply.attempts).toBe(3);
    expect(await inFlight(h)).toEqual([0]);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EndpointRefresh } from "../../src/upstream/endpoint-refresh.js";

// docs/contract.md "Endpoints", resolution: a host name is resolved at start-up and then every
// UPSTREAM_DNS_REFRESH_MS; a resolution that fails or returns nothing keeps the endpoints already
// known and is reported; an IP literal is never resolved. On fake timers.

function setup(answers: Array<string[] | Error | "never">, host = "billing.default.svc", intervalMs = 1000) {
  const calls: string[] = [];
  const applied: string[][] = [];
  const events: string[] = [];
  const refresh = new EndpointRefresh({
    host,
    intervalMs,
    resolve: (name) => {
      calls.push(name);
      const answer = answers.shift() ?? ["10.0.0.1"];
      if (answer === "never") return new Promise(() => {});
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    apply: (addresses) => applied.push([...addresses]),
    events: {
      resolved: (_host, addresses) => events.push(`resolved ${addresses.join(",")}`),
      failed: (_host, error) => events.push(`failed ${error.message}`),
    },
  });
  return { refresh, calls, applied, events };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("EndpointRefresh", () => {
  it("an IP literal is one endpoint, never resolved", async () => {
    const t = setup([], "10.1.2.3");
    await t.refresh.start();
    expect(t.applied).toEqual([["10.1.2.3"]]);
    expect(t.calls).toEqual([]);
  });

  it("an answer is applied; a failure or an empty answer is reported and keeps what is known", async () => {
    const t = setup([["10.0.0.1", "10.0.0.2"], new Error("SERVFAIL"), []]);
    await t.refresh.start();
    await t.refresh.refresh();
    await t.refresh.refresh();
    expect(t.applied).toEqual([["10.0.0.1", "10.0.0.2"]]);
    expect(t.events).toEqual([
      "resolved 10.0.0.1,10.0.0.2",
      "failed SERVFAIL",
      "failed no address for billing.default.svc",
    ]);
    t.refresh.stop();
  });

  it("resolves again every interval, never two at once, and not after stop", async () => {
    const t = setup([]);
    await t.refresh.start();
    expect(t.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(t.calls).toHaveLength(3);
    const both = [t.refresh.refresh(), t.refresh.refresh()];
    expect(both[0]).toBe(both[1]);
    await Promise.all(both);
    expect(t.calls).toHaveLength(4);
    t.refresh.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.calls).toHaveLength(4);
  });

  it("UPSTREAM_DNS_REFRESH_MS=0 resolves at start-up only", async () => {
    const t = setup([], "billing.default.svc", 0);
    await t.refresh.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(t.calls).toHaveLength(1);
    t.refresh.stop();
  });

  it("start-up waits for a resolver that does not answer only so long", async () => {
    const t = setup(["never"]);
    let started = false;
    void t.refresh.start(5000).then(() => {
      started = true;
    });
    await vi.advanceTimersByTimeAsync(4999);
    expect(started).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(started).toBe(true);
    t.refresh.stop();
  });
});

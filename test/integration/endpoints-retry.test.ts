import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EndpointsView } from "../../src/endpoints/endpoint-set.js";
import { type Backends, startBackends } from "../support/backends.js";
import { type Dnsmasq, startDnsmasq } from "../support/dnsmasq.js";
import { FAST_ENV, type Reply, send, steppingClock } from "../support/scenario.js";
import type { Harness, LogLine } from "../support/sidecar-harness.js";
import { startHarness } from "../support/sidecar-harness.js";

// docs/contract.md "Endpoints", Choosing and Ejection, end to end: the real sidecar in front of three real
// upstreams on 127.0.0.2, .3 and .4 (one port, as the pods behind a headless Service), the name
// resolved by a real DNS server (dnsmasq) through UPSTREAM_DNS_SERVERS. One upstream is sick: it
// answers every request with 503.

const NAME = "billing.test";
const THREE = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
const SICK = "127.0.0.3";

let dnsmasq: Dnsmasq;
let backends: Backends | undefined;
let harness: Harness | undefined;

beforeAll(async () => {
  dnsmasq = await startDnsmasq({});
}, 15_000);
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await backends?.close();
  backends = undefined;
});
afterAll(async () => {
  await dnsmasq?.stop();
});

/** Upstreams on `addresses`; those in `sick` answer 503 to everything, the others 200. */
async function upstreams(addresses: readonly string[], sick: readonly string[]): Promise<Backends> {
  backends = await startBackends(addresses, (address) =>
    sick.includes(address)
      ? { status: 503, body: `sick ${address}` }
      : { status: 200, body: `from ${address}` },
  );
  await dnsmasq.setHosts({ [NAME]: addresses });
  return backends;
}

async function start(b: Backends, env: Record<string, string>, clock?: () => number): Promise<Harness> {
  harness = await startHarness(
    {
      UPSTREAM_URL: `http://${NAME}:${b.port}`,
      UPSTREAM_DNS_SERVERS: dnsmasq.server,
      ...FAST_ENV,
      ...env,
    },
    clock === undefined ? {} : { clock },
  );
  return harness;
}

let sequence = 0;
/** One POST through the sidecar, named by its x-request-id so its attempts can be found. */
async function call(h: Harness): Promise<{ id: string; reply: Reply }> {
  sequence += 1;
  const id = `endpoints-retry-${sequence}`;
  const reply = await send(h, "/provider", { headers: { "x-request-id": id } });
  return { id, reply };
}

async function view(h: Harness): Promise<EndpointsView> {
  return (await (await fetch(`${h.adminUrl}/endpoints`)).json()) as EndpointsView;
}

async function exposition(h: Harness): Promise<string[]> {
  return (await (await fetch(`${h.adminUrl}/metrics`)).text()).split("\n");
}

const logOf = (h: Harness, msg: string, id: string) =>
  h.waitForLog((l: LogLine) => l.msg === msg && l.reqId === id, 2000);

describe("a retry goes to an endpoint this request has not tried", () => {
  it("every request succeeds; one whose first attempt hit the sick endpoint is retried on another, and the logs name both", async () => {
    const b = await upstreams(THREE, [SICK]);
    // No ejection here: the sick endpoint keeps getting first attempts.
    const h = await start(b, { ENDPOINT_EJECT_AFTER: "0" });
    const key = (address: string) => `${address}:${b.port}`;
    let firstOnSick = 0;

    for (let i = 0; i < 30; i++) {
      const { id, reply } = await call(h);
      expect(reply.status).toBe(200);
      const reached = b.reached(id);
      const completed = await logOf(h, "request completed", id);
      if (reached[0]?.backend === SICK) {
        firstOnSick += 1;
        const retriedOn = reached[1]?.backend as string;
        expect(reply.attempts).toBe(2);
        expect(reached.map((r) => r.attempt)).toEqual([1, 2]);
        expect(retriedOn).not.toBe(SICK);
        expect(reply.text).toBe(`from ${retriedOn}`);
        expect(await logOf(h, "upstream retry", id)).toMatchObject({ attempt: 2, endpoint: key(retriedOn) });
        expect(completed).toMatchObject({ status: 200, attempts: 2, endpoint: key(retriedOn) });
      } else {
        expect(reply.attempts).toBe(1);
        expect(reached).toHaveLength(1);
        expect(completed).toMatchObject({
          status: 200,
          attempts: 1,
          endpoint: key(reached[0]?.backend as string),
        });
      }
    }
    // 30 first attempts over three endpoints: none on the sick one has odds of (2/3)^30, 5e-6.
    expect(firstOnSick).toBeGreaterThan(0);
    expect(b.at(SICK).received).toHaveLength(firstOnSick);
    expect(h.logs.filter((l) => l.msg === "upstream retry")).toHaveLength(firstOnSick);
  });
});

describe("a first attempt goes to the less loaded of two endpoints", () => {
  it("two slow endpoints and 20 requests at once: fewer in flight wins every time, so each gets 10", async () => {
    const two = ["127.0.0.2", "127.0.0.3"];
    backends = await startBackends(two, (address) => ({
      status: 200,
      body: `from ${address}`,
      delayMs: 500,
    }));
    await dnsmasq.setHosts({ [NAME]: two });
    const h = await start(backends, {});
    // With two endpoints both are always the two picked: the one with fewer in flight gets it.
    const replies = await Promise.all(Array.from({ length: 20 }, () => call(h)));
    for (const { reply } of replies) expect([reply.status, reply.attempts]).toEqual([200, 1]);
    expect(backends.all.map((b) => b.received.length)).toEqual([10, 10]);
  });
});

describe("ejection under traffic", () => {
  it("ENDPOINT_EJECT_AFTER=2: the sick endpoint is ejected (log, metric, gauge, /endpoints), gets no attempt while ejected, then comes back", async () => {
    const b = await upstreams(THREE, [SICK]);
    // A clock the test moves: the ejection lasts exactly until the test says so.
    const clock = steppingClock();
    const h = await start(b, { ENDPOINT_EJECT_AFTER: "2", ENDPOINT_EJECT_MS: "5000" }, clock.now);
    const sickKey = `${SICK}:${b.port}`;

    for (let i = 0; i < 100 && !h.logs.some((l) => l.msg === "endpoint ejected"); i++) {
      expect((await call(h)).reply.status).toBe(200);
    }
    // Two first attempts on it, two 503 in a row: ejected.
    expect(b.at(SICK).received).toHaveLength(2);
    expect(h.logs.filter((l) => l.msg === "endpoint ejected")).toEqual([
      expect.objectContaining({ level: 40, endpoint: sickKey, failures: 2, ejectedMs: 5000 }),
    ]);
    expect(await h.metric("retry_sidecar_endpoint_ejections_total")).toBe(1);
    const metrics = await exposition(h);
    expect(metrics).toContain('retry_sidecar_upstream_endpoints{state="ejected"} 1');
    expect(metrics).toContain('retry_sidecar_upstream_endpoints{state="active"} 2');
    const shown = (await view(h)).endpoints.find((e) => e.address === sickKey);
    expect(shown).toMatchObject({ state: "ejected", consecutiveFailures: 2, inFlight: 0 });
    const until = Date.parse(shown?.ejectedUntil as string);
    expect(new Date(until).toISOString()).toBe(shown?.ejectedUntil);
    expect(until - clock.now()).toBeGreaterThan(0);
    expect(until - clock.now()).toBeLessThanOrEqual(5000);

    // While ejected: every request is answered by the two others at the first attempt.
    for (let i = 0; i < 20; i++) {
      const { reply } = await call(h);
      expect([reply.status, reply.attempts]).toEqual([200, 1]);
    }
    expect(b.at(SICK).received).toHaveLength(2);

    // ENDPOINT_EJECT_MS later it is back, its count at zero, and gets attempts again.
    clock.advance(5000);
    for (let i = 0; i < 50 && b.at(SICK).received.length === 2; i++) {
      expect((await call(h)).reply.status).toBe(200);
    }
    expect(b.at(SICK).received).toHaveLength(3);
    expect(h.logs.filter((l) => l.msg === "endpoint restored")).toEqual([
      expect.objectContaining({ level: 30, endpoint: sickKey }),
    ]);
    expect(await exposition(h)).toContain('retry_sidecar_upstream_endpoints{state="ejected"} 0');
    expect((await view(h)).endpoints.find((e) => e.address === sickKey)).toMatchObject({
      state: "active",
      consecutiveFailures: 1,
      ejectedUntil: null,
    });
  });

  it("on the real clock: no attempt reaches it for ENDPOINT_EJECT_MS (300 ms), then it gets attempts again", async () => {
    const b = await upstreams(THREE, [SICK]);
    const h = await start(b, { ENDPOINT_EJECT_AFTER: "2", ENDPOINT_EJECT_MS: "300" });
    for (let i = 0; i < 100 && !h.logs.some((l) => l.msg === "endpoint ejected"); i++) await call(h);
    const ejected = await h.waitForLog((l) => l.msg === "endpoint ejected", 100);
    const ejectedAt = ejected.time as number;
    expect(b.at(SICK).received).toHaveLength(2);

    // Steady traffic until the sick one is reached again (bounded: 3 s at most).
    const deadline = Date.now() + 3000;
    while (b.at(SICK).received.length === 2 && Date.now() < deadline) {
      expect((await call(h)).reply.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const back = b.at(SICK).received[2];
    expect(back).toBeDefined();
    // Ejected at ejectedAt, for 300 ms; pino's time and the upstream's are both Date.now.
    expect((back?.at as number) - ejectedAt).toBeGreaterThanOrEqual(300 - 2);
    expect(h.logs.filter((l) => l.msg === "endpoint restored")).toHaveLength(1);
  });

  it("never more than half: two endpoints, both sick, only one is ejected and the other keeps every attempt", async () => {
    const two = ["127.0.0.2", "127.0.0.3"];
    const b = await upstreams(two, two);
    const h = await start(b, {
      ENDPOINT_EJECT_AFTER: "2",
      ENDPOINT_EJECT_MS: "60000",
      // The breaker, the retry budget and the throttle would stop the traffic this test needs.
      CIRCUIT_FAILURE_THRESHOLD: "0",
      RETRY_BUDGET_MIN_PER_SEC: "1000",
      RETRY_THROTTLE: "off",
    });
    for (let i = 0; i < 10; i++) {
      const { reply } = await call(h);
      expect([reply.status, reply.attempts]).toEqual([503, 4]);
    }
    const ejections = h.logs.filter((l) => l.msg === "endpoint ejected");
    expect(ejections).toHaveLength(1);
    expect(await h.metric("retry_sidecar_endpoint_ejections_total")).toBe(1);
    const metrics = await exposition(h);
    expect(metrics).toContain('retry_sidecar_upstream_endpoints{state="ejected"} 1');
    expect(metrics).toContain('retry_sidecar_upstream_endpoints{state="active"} 1');
    const endpoints = (await view(h)).endpoints;
    const kept = endpoints.find((e) => e.state === "active");
    expect(endpoints.filter((e) => e.state === "ejected").map((e) => e.address)).toEqual([
      ejections[0]?.endpoint,
    ]);
    // Far past ENDPOINT_EJECT_AFTER, still in rotation: the cap, not the count, kept it.
    expect(kept?.consecutiveFailures).toBeGreaterThan(10);
  });
});

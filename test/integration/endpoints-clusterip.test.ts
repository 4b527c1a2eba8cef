import { afterEach, describe, expect, it, vi } from "vitest";
import { EndpointDispatchers } from "../../src/upstream/endpoint-dispatchers.js";
import { type Backends, startBackends } from "../support/backends.js";
import { FAST_ENV, send } from "../support/scenario.js";
import { type Harness, startHarness } from "../support/sidecar-harness.js";
import { startTcpRoundRobin, type TcpRoundRobin } from "../support/tcp-round-robin.js";

// docs/contract.md "Endpoints", Fresh connection, end to end: the sidecar knows ONE address, a connection-level
// balancer (a TCP round-robin, the way kube-proxy serves a ClusterIP) in front of three backends
// on 127.0.0.2, .3 and .4. The backend the first connection goes to is sick (503 to everything):
// the sidecar's kept-alive connection sticks to it. A retry reaches another backend only because
// it goes on a newly opened connection; the A/B below turns that one rule off and shows the
// retries then stay on the sick backend.

const SICK = "127.0.0.2"; // the round-robin's first backend: the pool's kept-alive connection
const ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];

let backends: Backends | undefined;
let balancer: TcpRoundRobin | undefined;
let harness: Harness | undefined;

afterEach(async () => {
  vi.restoreAllMocks();
  await harness?.close();
  harness = undefined;
  await balancer?.close();
  balancer = undefined;
  await backends?.close();
  backends = undefined;
});

async function clusterIp(
  env: Record<string, string> = {},
): Promise<{ h: Harness; b: Backends; lb: TcpRoundRobin }> {
  backends = await startBackends(ADDRESSES, (address) =>
    address === SICK ? { status: 503, body: `sick ${address}` } : { status: 200, body: `from ${address}` },
  );
  const b = backends;
  balancer = await startTcpRoundRobin(b.all.map((backend) => ({ host: backend.host, port: b.port })));
  harness = await startHarness({ UPSTREAM_URL: `http://127.0.0.1:${balancer.port}`, ...FAST_ENV, ...env });
  return { h: harness, b, lb: balancer };
}

const total = (counts: readonly number[]) => counts.reduce((sum, n) => sum + n, 0);

describe("one address behind a connection-level balancer (a ClusterIP Service)", () => {
  it("each retry goes on a newly opened connection, so the balancer hands it to another backend: every request succeeds", async () => {
    const { h, b, lb } = await clusterIp();
    expect(h.sidecar.endpoints.set.endpoints).toHaveLength(1);
    let retries = 0;
    for (let i = 0; i < 9; i++) {
      const id = `clusterip-fresh-${i}`;
      const reply = await send(h, "/provider", { headers: { "x-request-id": id } });
      const reached = b.reached(id);
      expect(reply.status).toBe(200);
      // The first attempt rides the kept-alive connection, and that one leads to the sick backend.
      expect(reached[0]?.backend).toBe(SICK);
      expect(reply.attempts).toBeGreaterThanOrEqual(2);
      const last = reached.at(-1)?.backend as string;
      expect(last).not.toBe(SICK);
      expect(reply.text).toBe(`from ${last}`);
      retries += reply.attempts - 1;
    }
    // One kept-alive connection for all first attempts, and one new connection per retry.
    expect(total(lb.handed)).toBe(1 + retries);
    expect(b.at(SICK).connections).toBe(lb.handed[0]);
    expect(b.at("127.0.0.3").received.length).toBeGreaterThan(0);
    expect(b.at("127.0.0.4").received.length).toBeGreaterThan(0);
  });

  it("A/B: with the fresh-connection rule off (a retry reuses the kept-alive connection), every retry reaches the sick backend again", async () => {
    // The one rule turned off: the connection for a retry is chosen as for a first attempt.
    const dispatcherFor = EndpointDispatchers.prototype.dispatcherFor;
    vi.spyOn(EndpointDispatchers.prototype, "dispatcherFor").mockImplementation(function (
      this: EndpointDispatchers,
      endpoint,
    ) {
      return dispatcherFor.call(this, endpoint, false);
    });
    // 12 failed attempts in a row would open the circuit (10), engage the retry throttle (5) and
    // renew the kept-alive connection (ENDPOINT_EJECT_AFTER, 5), any of which would change the test.
    const { h, b, lb } = await clusterIp({
      CIRCUIT_FAILURE_THRESHOLD: "0",
      RETRY_THROTTLE: "off",
      ENDPOINT_EJECT_AFTER: "0",
    });
    for (let i = 0; i < 3; i++) {
      const id = `clusterip-reused-${i}`;
      const reply = await send(h, "/provider", { headers: { "x-request-id": id } });
      // MAX_RETRIES 3: four attempts, all on the one connection, all to the sick backend.
      expect([reply.status, reply.attempts, reply.text]).toEqual([503, 4, `sick ${SICK}`]);
      expect(b.reached(id).map((r) => r.backend)).toEqual([SICK, SICK, SICK, SICK]);
    }
    expect(lb.handed).toEqual([1, 0, 0]);
  });

  it("ENDPOINT_EJECT_AFTER failures in a row on the lone endpoint renew its kept-alive connection: first attempts then reach another backend", async () => {
    const { h, b } = await clusterIp({ ENDPOINT_EJECT_AFTER: "2", RETRY_THROTTLE: "off" });
    const once = (id: string) =>
      send(h, "/provider", { headers: { "x-request-id": id, "x-retry-max": "0" } });
    // Two first attempts on the kept-alive connection, both to the sick backend...
    for (const id of ["renew-1", "renew-2"]) {
      expect((await once(id)).status).toBe(503);
      expect(b.reached(id).map((r) => r.backend)).toEqual([SICK]);
    }
    // ...then new connections, which the balancer hands to the next backends.
    const after = await once("renew-3");
    expect(after.status).toBe(200);
    expect(b.reached("renew-3")[0]?.backend).not.toBe(SICK);
    const line = await h.waitForLog((l) => l.msg === "endpoint connections renewed");
    expect(line).toMatchObject({ level: "warn", failures: 2 });
    expect(line.endpoint).toBe(`127.0.0.1:${balancer?.port}`);
    // The old pool is closed at once, not left for its keep-alive timeout (seconds): its idle
    // connection, the one to the sick backend, goes now.
    await vi.waitFor(() => expect(b.at(SICK).openConnections).toBe(0), { timeout: 1000, interval: 20 });
  });

  it("A/B: without the renewal, the kept-alive connection keeps every first attempt on the sick backend", async () => {
    vi.spyOn(EndpointDispatchers.prototype, "renew").mockImplementation(() => {});
    const { h, b } = await clusterIp({ ENDPOINT_EJECT_AFTER: "2", RETRY_THROTTLE: "off" });
    for (const id of ["kept-1", "kept-2", "kept-3", "kept-4"]) {
      const reply = await send(h, "/provider", { headers: { "x-request-id": id, "x-retry-max": "0" } });
      expect(reply.status).toBe(503);
      expect(b.reached(id).map((r) => r.backend)).toEqual([SICK]);
    }
  });
});

import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config/load-config.js";
import type { Endpoint } from "../../src/endpoints/endpoint.js";
import { newEndpoint } from "../../src/endpoints/endpoint.js";
import { EndpointDispatchers } from "../../src/upstream/endpoint-dispatchers.js";
import { createUpstreamEndpoints, type UpstreamEndpoints } from "../../src/upstream/upstream-endpoints.js";
import { type FakeUpstream, startFakeUpstream } from "../support/fake-upstream.js";
import { startTcpRoundRobin } from "../support/tcp-round-robin.js";
import { makeTestCa, type TestCa } from "../support/test-ca.js";

// docs/contract.md "Endpoints", the mechanism: a keep-alive pool per endpoint, a newly opened connection when
// asked for one (Fresh connection), a removed endpoint's connections closed once its attempts in
// flight end (Changes), and TLS that names the host of UPSTREAM_URL, never the address (TLS).
// Three real upstreams listen on 127.0.0.2, .3 and .4, on one port, as the pods of a Service.

let backends: FakeUpstream[] = [];
let port: number;

beforeAll(async () => {
  const first = await startFakeUpstream({ status: 200, body: "ok" }, { host: "127.0.0.2" });
  port = first.port;
  backends = [
    first,
    await startFakeUpstream({ status: 200, body: "ok" }, { host: "127.0.0.3", port }),
    await startFakeUpstream({ status: 200, body: "ok" }, { host: "127.0.0.4", port }),
  ];
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
});

const noEvents = {
  changed: () => {},
  ejected: () => {},
  restored: () => {},
  stuck: () => {},
  resolved: () => {},
  failed: () => {},
};

let endpoints: UpstreamEndpoints | undefined;
afterEach(async () => {
  await endpoints?.stop();
  endpoints = undefined;
});

function setUp(): UpstreamEndpoints {
  const config = loadConfig({ UPSTREAM_URL: `http://billing.test:${port}` });
  endpoints = createUpstreamEndpoints(config, { clock: Date.now, random: Math.random, events: noEvents });
  endpoints.set.update(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
  return endpoints;
}

function at(e: UpstreamEndpoints, address: string): Endpoint {
  const found = e.set.endpoints.find((x) => x.address === address);
  if (found === undefined) throw new Error(`no endpoint ${address}`);
  return found;
}

/** One GET through the dispatcher of `endpoint`, its body read; Host is the URL's. */
async function get(
  e: UpstreamEndpoints,
  endpoint: Endpoint,
  fresh: boolean,
): Promise<{ status: number; body: string }> {
  const response = await e.dispatchers.dispatcherFor(endpoint, fresh).request({
    origin: e.dispatchers.originOf(endpoint),
    path: "/provider",
    method: "GET",
    headers: { host: `billing.test:${port}` },
  });
  return { status: response.statusCode, body: await response.body.text() };
}

const backend = (address: string) => backends.find((b) => b.host === address) as FakeUpstream;

describe("a keep-alive pool per endpoint", () => {
  it("sends to the endpoint's address, with the Host of UPSTREAM_URL, reusing one connection", async () => {
    const e = setUp();
    const before = backends.map((b) => b.received.length);
    const connections = backend("127.0.0.3").connections;
    for (let i = 0; i < 3; i++) {
      expect(await get(e, at(e, "127.0.0.3"), false)).toEqual({ status: 200, body: "ok" });
      // undici frees the connection for the next request a turn after the body's last byte.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(backends.map((b, i) => b.received.length - (before[i] as number))).toEqual([0, 3, 0]);
    expect(backend("127.0.0.3").received.at(-1)?.headers.host).toBe(`billing.test:${port}`);
    expect(backend("127.0.0.3").connections - connections).toBe(1);
  });
});

describe("fresh: a newly opened connection, for one request", () => {
  it("opens a new TCP connection each time, and closes it after its request", async () => {
    const e = setUp();
    const target = backend("127.0.0.2");
    await get(e, at(e, "127.0.0.2"), false); // the pool's connection, kept alive
    const accepted = target.connections;
    expect(target.openConnections).toBe(1);

    expect(await get(e, at(e, "127.0.0.2"), true)).toEqual({ status: 200, body: "ok" });
    expect(target.connections).toBe(accepted + 1);
    await vi.waitFor(() => expect(target.openConnections).toBe(1)); // the one-shot closed, the pool's stays

    await get(e, at(e, "127.0.0.2"), true);
    expect(target.connections).toBe(accepted + 2);
    await get(e, at(e, "127.0.0.2"), false);
    expect(target.connections).toBe(accepted + 2); // the pool still reuses its own
  });
});

describe("behind a connection-level balancer (a ClusterIP): one address, three backends", () => {
  it("kept-alive requests all reach one backend; fresh connections reach the others in turn", async () => {
    const balancer = await startTcpRoundRobin(backends.map((b) => ({ host: b.host, port })));
    try {
      const config = loadConfig({ UPSTREAM_URL: `http://127.0.0.1:${balancer.port}` });
      endpoints = createUpstreamEndpoints(config, { clock: Date.now, random: Math.random, events: noEvents });
      await endpoints.start();
      const e = endpoints;
      const only = e.set.endpoints[0] as Endpoint;
      expect(e.set.endpoints).toHaveLength(1);

      // Without the fresh-connection rule: a "retry" on the kept-alive connection, same backend.
      for (let i = 0; i < 3; i++) {
        await get(e, only, false);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(balancer.handed).toEqual([1, 0, 0]);

      // With it: each retry on a new connection, and the balancer picks the next backend.
      await get(e, only, true);
      await get(e, only, true);
      expect(balancer.handed).toEqual([1, 1, 1]);
    } finally {
      await endpoints?.stop();
      endpoints = undefined;
      await balancer.close();
    }
  });
});

describe("a removed endpoint", () => {
  it("finishes the attempt in flight on its pool, then its connection closes", async () => {
    const e = setUp();
    const target = backend("127.0.0.4");
    const endpoint = at(e, "127.0.0.4");
    const received = target.received.length;
    target.script({ status: 200, body: "late", delayMs: 300 });
    const pool = e.dispatchers.dispatcherFor(endpoint, false);
    const inFlight = get(e, endpoint, false);
    await target.waitForRequests(received + 1);

    e.set.update(["127.0.0.2", "127.0.0.3"]);

    expect(await inFlight).toEqual({ status: 200, body: "late" });
    await vi.waitFor(() => expect(target.openConnections).toBe(0), { timeout: 2000 });
    expect((pool as unknown as { closed: boolean }).closed).toBe(true);
    // An attempt that chose it just before the change still goes, on a connection of its own.
    expect(e.dispatchers.dispatcherFor(endpoint, false)).not.toBe(pool);
    expect(await get(e, endpoint, false)).toEqual({ status: 200, body: "ok" });
  });

  it("an endpoint still listed keeps its kept-alive connection", async () => {
    const e = setUp();
    const target = backend("127.0.0.3");
    await get(e, at(e, "127.0.0.3"), false);
    e.set.update(["127.0.0.2", "127.0.0.3"]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(target.openConnections).toBe(1);
  });
});

describe("https on two addresses, the certificate naming the host only", () => {
  let tls: TestCa;
  let servers: Server[] = [];
  let tlsPort = 0;
  const seen: Array<{ address: string; servername: string | false | undefined; host: string | undefined }> =
    [];

  beforeAll(async () => {
    tls = makeTestCa("DNS:billing.test");
    for (const address of ["127.0.0.2", "127.0.0.3"]) {
      const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
        seen.push({
          address,
          servername: (req.socket as { servername?: string | false }).servername,
          host: req.headers.host,
        });
        res.end(`tls from ${address}`);
      });
      await new Promise<void>((resolve) => server.listen(tlsPort, address, resolve));
      tlsPort = (server.address() as AddressInfo).port;
      servers.push(server);
    }
  }, 30_000);
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    servers = [];
    tls.remove();
  });

  async function tlsGet(baseUrl: string, ca: string | undefined, address: string, fresh: boolean) {
    const dispatchers = new EndpointDispatchers({ baseUrl, ca, bodyTimeoutMs: 5000 });
    const endpoint = newEndpoint(address, tlsPort);
    try {
      const response = await dispatchers.dispatcherFor(endpoint, fresh).request({
        origin: dispatchers.originOf(endpoint),
        path: "/provider",
        method: "GET",
        headers: { host: new URL(baseUrl).host },
      });
      return await response.body.text();
    } finally {
      await dispatchers.destroy();
    }
  }

  it("with the CA: both addresses answer; SNI and Host name billing.test, not the IP", async () => {
    const base = `https://billing.test:${tlsPort}`;
    seen.length = 0;
    expect(await tlsGet(base, tls.ca, "127.0.0.2", false)).toBe("tls from 127.0.0.2");
    expect(await tlsGet(base, tls.ca, "127.0.0.3", false)).toBe("tls from 127.0.0.3");
    expect(await tlsGet(base, tls.ca, "127.0.0.3", true)).toBe("tls from 127.0.0.3");
    expect(seen).toEqual([
      { address: "127.0.0.2", servername: "billing.test", host: `billing.test:${tlsPort}` },
      { address: "127.0.0.3", servername: "billing.test", host: `billing.test:${tlsPort}` },
      { address: "127.0.0.3", servername: "billing.test", host: `billing.test:${tlsPort}` },
    ]);
  });

  it("the check is against the URL's host: another name is refused, even at the right address", async () => {
    await expect(tlsGet(`https://other.test:${tlsPort}`, tls.ca, "127.0.0.2", false)).rejects.toMatchObject({
      code: "ERR_TLS_CERT_ALTNAME_INVALID",
    });
  });

  it("without the CA: refused, the certificate is not trusted", async () => {
    await expect(
      tlsGet(`https://billing.test:${tlsPort}`, undefined, "127.0.0.2", false),
    ).rejects.toMatchObject({
      code: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/),
    });
  });
});

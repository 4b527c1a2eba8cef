import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { EndpointsView } from "../../src/endpoints/endpoint-set.js";
import { serversResolve, systemResolve } from "../../src/upstream/dns-resolve.js";
import { type Dnsmasq, startDnsmasq } from "../support/dnsmasq.js";
import { type Harness, type LogLine, startHarness } from "../support/sidecar-harness.js";

// docs/contract.md "Endpoints", Resolution and Changes, against a real DNS server (dnsmasq) whose records the
// test rewrites: scale up, scale down, all gone, back. The sidecar asks it through
// UPSTREAM_DNS_SERVERS and shows what it knows on GET /endpoints, in metrics and in logs.

const PORT = 5002;
let dnsmasq: Dnsmasq;
let harness: Harness | undefined;

beforeAll(async () => {
  dnsmasq = await startDnsmasq({ "billing.test": ["127.0.0.2"] });
}, 15_000);
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await dnsmasq.setHosts({ "billing.test": ["127.0.0.2"] });
});
afterAll(async () => {
  await dnsmasq?.stop();
});

function start(env: Record<string, string> = {}): Promise<Harness> {
  return startHarness({
    UPSTREAM_URL: `http://billing.test:${PORT}`,
    UPSTREAM_DNS_SERVERS: dnsmasq.server,
    UPSTREAM_DNS_REFRESH_MS: "50",
    ...env,
  });
}

async function endpointsOf(h: Harness): Promise<EndpointsView> {
  const res = await fetch(`${h.adminUrl}/endpoints`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return (await res.json()) as EndpointsView;
}

async function addresses(h: Harness): Promise<string[]> {
  return (await endpointsOf(h)).endpoints.map((e) => e.address).sort();
}

/** Waits until /endpoints lists exactly these addresses. */
async function expectAddresses(h: Harness, expected: string[]): Promise<void> {
  await vi.waitFor(async () => expect(await addresses(h)).toEqual([...expected].sort()), {
    timeout: 3000,
    interval: 25,
  });
}

/** The "endpoints changed" lines, their lists sorted (DNS answers come in any order). */
const changes = (h: Harness) =>
  h.logs
    .filter((l) => l.msg === "endpoints changed")
    .map((l) => ({
      ...l,
      added: [...(l.added as string[])].sort(),
      removed: [...(l.removed as string[])].sort(),
    }));
const ep = (last: number) => `127.0.0.${last}:${PORT}`;

describe("resolution through UPSTREAM_DNS_SERVERS, refreshed every UPSTREAM_DNS_REFRESH_MS", () => {
  it("follows the records: scale up, scale down, all gone (endpoints kept, warning), back", async () => {
    harness = await start();
    const h = harness;

    // Start-up: resolved before listening.
    expect(await endpointsOf(h)).toEqual({
      host: "billing.test",
      port: PORT,
      endpoints: [
        { address: ep(2), state: "active", inFlight: 0, consecutiveFailures: 0, ejectedUntil: null },
      ],
    });
    expect(changes(h)).toEqual([
      expect.objectContaining({ level: "info", added: [ep(2)], removed: [], endpoints: 1 }),
    ]);

    // Scale up.
    await dnsmasq.setHosts({ "billing.test": ["127.0.0.2", "127.0.0.3", "127.0.0.4"] });
    await expectAddresses(h, [ep(2), ep(3), ep(4)]);
    expect(changes(h)[1]).toMatchObject({ added: [ep(3), ep(4)], removed: [], endpoints: 3 });
    expect(await h.metric("retry_sidecar_upstream_endpoints", { state: "active" })).toBe(3);

    // Scale down.
    await dnsmasq.setHosts({ "billing.test": ["127.0.0.3"] });
    await expectAddresses(h, [ep(3)]);
    expect(changes(h)[2]).toMatchObject({ added: [], removed: [ep(2), ep(4)], endpoints: 1 });

    // All gone: NXDOMAIN. The endpoint known stays, each failed resolution warns.
    const okBefore = await h.metric("retry_sidecar_dns_resolutions_total", { result: "ok" });
    expect(okBefore).toBeGreaterThan(0);
    await dnsmasq.setHosts({});
    const warning = await h.waitForLog((l) => l.msg === "dns resolution failed", 3000);
    expect(warning).toMatchObject({ level: "warn", host: "billing.test" });
    expect(String(warning.error)).toMatch(/ENOTFOUND/);
    await vi.waitFor(async () =>
      expect(
        await h.metric("retry_sidecar_dns_resolutions_total", { result: "error" }),
      ).toBeGreaterThanOrEqual(2),
    );
    expect(await addresses(h)).toEqual([ep(3)]);
    expect(await h.metric("retry_sidecar_upstream_endpoints", { state: "active" })).toBe(1);
    expect(changes(h)).toHaveLength(3);

    // Back.
    await dnsmasq.setHosts({ "billing.test": ["127.0.0.4"] });
    await expectAddresses(h, [ep(4)]);
    expect(changes(h)[3]).toMatchObject({ added: [ep(4)], removed: [ep(3)], endpoints: 1 });
  });

  it("asks for A and AAAA: an IPv6 address is an endpoint too, written in brackets", async () => {
    await dnsmasq.setHosts({ "billing.test": ["127.0.0.2", "fd00::5"] });
    harness = await start();
    expect(await addresses(harness)).toEqual([ep(2), `[fd00::5]:${PORT}`].sort());
  });

  it("a name that cannot be resolved at start-up is no error: it starts, with no endpoint, and finds them later", async () => {
    await dnsmasq.setHosts({});
    harness = await start();
    expect(await endpointsOf(harness)).toEqual({ host: "billing.test", port: PORT, endpoints: [] });
    expect(harness.logs.find((l: LogLine) => l.msg === "dns resolution failed")).toMatchObject({
      host: "billing.test",
    });
    expect(await harness.metric("retry_sidecar_upstream_endpoints", { state: "active" })).toBe(0);

    await dnsmasq.setHosts({ "billing.test": ["127.0.0.3"] });
    await expectAddresses(harness, [ep(3)]);
  });

  it("UPSTREAM_DNS_REFRESH_MS=0 resolves only at start-up", async () => {
    harness = await start({ UPSTREAM_DNS_REFRESH_MS: "0" });
    await dnsmasq.setHosts({ "billing.test": ["127.0.0.3", "127.0.0.4"] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await addresses(harness)).toEqual([ep(2)]);
    expect(await harness.metric("retry_sidecar_dns_resolutions_total", { result: "ok" })).toBe(1);
  });
});

describe("without UPSTREAM_DNS_SERVERS and for IP literals", () => {
  it("an IP literal is one endpoint, never resolved", async () => {
    harness = await startHarness({ UPSTREAM_URL: `http://127.0.0.9:${PORT}`, UPSTREAM_DNS_REFRESH_MS: "20" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await addresses(harness)).toEqual([`127.0.0.9:${PORT}`]);
    expect(await harness.metric("retry_sidecar_dns_resolutions_total")).toBe(0);
  });

  it("an IPv6 literal: the host without brackets, the endpoint with", async () => {
    harness = await startHarness({ UPSTREAM_URL: "http://[::1]:5002" });
    expect(await endpointsOf(harness)).toMatchObject({
      host: "::1",
      port: 5002,
      endpoints: [{ address: "[::1]:5002" }],
    });
  });

  it("the system resolver answers as getaddrinfo does: /etc/hosts names localhost", async () => {
    harness = await startHarness({ UPSTREAM_URL: "https://localhost" });
    const view = await endpointsOf(harness);
    expect(view).toMatchObject({ host: "localhost", port: 443 });
    expect(view.endpoints.map((e) => e.address)).toContain("127.0.0.1:443");
    expect(await harness.metric("retry_sidecar_dns_resolutions_total", { result: "ok" })).toBe(1);
  });
});

describe("the resolvers alone", () => {
  it("serversResolve: A and AAAA together; a name only some families have is no failure", async () => {
    await dnsmasq.setHosts({ "billing.test": ["127.0.0.2", "127.0.0.3"], "v6.test": ["fd00::7"] });
    const resolve = serversResolve([dnsmasq.server]);
    expect((await resolve("billing.test")).sort()).toEqual(["127.0.0.2", "127.0.0.3"]);
    expect(await resolve("v6.test")).toEqual(["fd00::7"]);
    await expect(resolve("missing.test")).rejects.toMatchObject({ code: "ENOTFOUND" });
  });

  it("serversResolve: a server that does not answer fails within about two seconds", async () => {
    const resolve = serversResolve(["127.0.0.1:9"]); // discard port: nothing answers
    const started = Date.now();
    await expect(resolve("billing.test")).rejects.toMatchObject({
      code: expect.stringMatching(/ECONNREFUSED|ETIMEOUT/),
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("systemResolve: localhost from /etc/hosts", async () => {
    expect(await systemResolve("localhost")).toContain("127.0.0.1");
  });
});

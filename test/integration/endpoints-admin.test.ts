import { afterEach, describe, expect, it } from "vitest";
import type { EndpointsView } from "../../src/endpoints/endpoint-set.js";
import { type Harness, startHarness } from "../support/sidecar-harness.js";

// docs/contract.md "Endpoints" (GET /endpoints, Ejection), "Metrics" and "Logs": what the running sidecar
// shows of its endpoints. The registry is driven directly here (report/begin), the way the data
// path drives it per attempt, on an injected clock.

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

async function start(env: Record<string, string> = {}) {
  const time = { now: T0 };
  harness = await startHarness(
    { UPSTREAM_URL: "http://127.0.0.2:5002", ENDPOINT_EJECT_AFTER: "2", ENDPOINT_EJECT_MS: "30000", ...env },
    { clock: () => time.now },
  );
  return { h: harness, time, set: harness.sidecar.endpoints.set };
}

async function exposition(h: Harness): Promise<string> {
  return (await fetch(`${h.adminUrl}/metrics`)).text();
}

async function view(h: Harness): Promise<EndpointsView> {
  const res = await fetch(`${h.adminUrl}/endpoints`);
  expect(res.status).toBe(200);
  return (await res.json()) as EndpointsView;
}

describe("metrics of the endpoints", () => {
  it("every series of the three exists from start-up", async () => {
    const { h } = await start();
    const text = await exposition(h);
    for (const line of [
      'retry_sidecar_upstream_endpoints{state="active"} 1',
      'retry_sidecar_upstream_endpoints{state="ejected"} 0',
      "retry_sidecar_endpoint_ejections_total 0",
      'retry_sidecar_dns_resolutions_total{result="ok"} 0',
      'retry_sidecar_dns_resolutions_total{result="error"} 0',
    ]) {
      expect(text.split("\n"), line).toContain(line);
    }
    expect(text).toContain("# TYPE retry_sidecar_upstream_endpoints gauge");
    expect(text).toContain("# TYPE retry_sidecar_endpoint_ejections_total counter");
    expect(text).toContain("# TYPE retry_sidecar_dns_resolutions_total counter");
  });
});

describe("an ejection, seen from outside", () => {
  it("logs 'endpoint ejected', counts it, shows it on /endpoints and the gauge, then restores it", async () => {
    const { h, time, set } = await start();
    set.update(["127.0.0.2", "127.0.0.3"]);
    const sick = set.endpoints.find((e) => e.address === "127.0.0.3");
    if (sick === undefined) throw new Error("no 127.0.0.3");
    set.begin(sick);
    set.report(sick, "retryable");
    set.report(sick, "retryable");

    expect(h.logs.find((l) => l.msg === "endpoint ejected")).toMatchObject({
      level: "warn",
      endpoint: "127.0.0.3:5002",
      failures: 2,
      ejectedMs: 30000,
    });
    expect(await h.metric("retry_sidecar_endpoint_ejections_total")).toBe(1);
    expect(await view(h)).toEqual({
      host: "127.0.0.2",
      port: 5002,
      endpoints: [
        {
          address: "127.0.0.2:5002",
          state: "active",
          inFlight: 0,
          consecutiveFailures: 0,
          ejectedUntil: null,
        },
        {
          address: "127.0.0.3:5002",
          state: "ejected",
          inFlight: 1,
          consecutiveFailures: 2,
          ejectedUntil: "2026-01-01T12:00:30.000Z",
        },
      ],
    });
    const text = await exposition(h);
    expect(text).toContain('retry_sidecar_upstream_endpoints{state="active"} 1\n');
    expect(text).toContain('retry_sidecar_upstream_endpoints{state="ejected"} 1\n');

    // ENDPOINT_EJECT_MS later, with no request to notice: the scrape sees it back.
    time.now += 30_000;
    const after = await exposition(h);
    expect(after).toContain('retry_sidecar_upstream_endpoints{state="active"} 2\n');
    expect(after).toContain('retry_sidecar_upstream_endpoints{state="ejected"} 0\n');
    expect(h.logs.filter((l) => l.msg === "endpoint restored")).toEqual([
      expect.objectContaining({ level: "info", endpoint: "127.0.0.3:5002" }),
    ]);
    expect((await view(h)).endpoints[1]).toMatchObject({
      state: "active",
      consecutiveFailures: 0,
      ejectedUntil: null,
    });
  });

  it("ENDPOINT_EJECT_AFTER=0: never ejected, however many failures", async () => {
    const { h, set } = await start({ ENDPOINT_EJECT_AFTER: "0" });
    set.update(["127.0.0.2", "127.0.0.3"]);
    const endpoint = set.endpoints[1];
    for (let i = 0; i < 50; i++) set.report(endpoint as never, "retryable");
    expect((await view(h)).endpoints.map((e) => e.state)).toEqual(["active", "active"]);
    expect(await h.metric("retry_sidecar_endpoint_ejections_total")).toBe(0);
  });

  it("a lone endpoint is never ejected", async () => {
    const { h, set } = await start();
    for (let i = 0; i < 10; i++) set.report(set.endpoints[0] as never, "retryable");
    expect((await view(h)).endpoints).toEqual([
      expect.objectContaining({ state: "active", consecutiveFailures: 10 }),
    ]);
  });
});

describe("GET /endpoints", () => {
  it("is listed among the admin paths of the 404 answer", async () => {
    const { h } = await start();
    const res = await fetch(`${h.adminUrl}/nope`);
    expect(((await res.json()) as { paths: string[] }).paths).toContain("/endpoints");
  });
});

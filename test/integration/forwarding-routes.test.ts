import { describe, expect, it } from "vitest";
import { rawRequest } from "../support/raw-http.js";
import { useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";

// docs/contract.md "Forwarding", first rule: which request targets are forwarded (route prefixes on
// segment boundaries), which get 404 / 400 with a JSON body, and that those never reach the
// upstream. Metrics label by the matched prefix, never by the raw path.

const scenario = useScenario({ status: 200, body: "from upstream" }, {});

async function metricsText(h: Harness): Promise<string> {
  return (await fetch(`${h.adminUrl}/metrics`)).text();
}

describe("route matching (ROUTES=/provider, the default)", () => {
  it.each(["/provider", "/provider/42", "/provider?x=1", "/provider/", "/provider/a/b/c?d=e"])(
    "forwards %s",
    async (target) => {
      const h = await scenario.start();
      const res = await fetch(`${h.url}${target}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("from upstream");
      expect(scenario.upstream.received.map((r) => r.url)).toEqual([target]);
      expect(
        await h.metric("retry_sidecar_requests_total", { route: "/provider", method: "GET", code: "200" }),
      ).toBe(1);
    },
  );

  it.each(["/providers", "/", "/other", "/provider-x", "/Provider", "/prov", "/api/provider"])(
    "answers %s with a JSON 404 and sends nothing upstream",
    async (target) => {
      const h = await scenario.start();
      const res = await fetch(`${h.url}${target}`, { method: "POST", body: "payload" });
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const body = (await res.json()) as Record<string, unknown>;
      expect(typeof body.error).toBe("string");
      expect(scenario.upstream.received).toHaveLength(0);
      expect(
        await h.metric("retry_sidecar_requests_total", { route: "none", method: "POST", code: "404" }),
      ).toBe(1);
      expect(await h.metric("retry_sidecar_upstream_attempts_total")).toBe(0);
    },
  );

  it("keeps serving the connection after a 404 with a body (keep-alive)", async () => {
    const h = await scenario.start();
    const first = await fetch(`${h.url}/nope`, { method: "POST", body: "x".repeat(100_000) });
    expect(first.status).toBe(404);
    await first.arrayBuffer();
    const second = await fetch(`${h.url}/provider`);
    expect(second.status).toBe(200);
    expect(scenario.upstream.received.map((r) => r.url)).toEqual(["/provider"]);
  });
});

describe("ROUTES=/ forwards every path", () => {
  it.each(["/", "/anything", "/providers", "/a/b?c=d"])("%s", async (target) => {
    const h = await scenario.start({ ROUTES: "/" });
    const res = await fetch(`${h.url}${target}`);
    expect(res.status).toBe(200);
    expect(scenario.upstream.received.map((r) => r.url)).toEqual([target]);
    expect(await h.metric("retry_sidecar_requests_total", { route: "/", code: "200" })).toBe(1);
  });
});

describe("several routes: the label is the matched prefix, never the raw path", () => {
  it("labels /provider/42 as /provider and /invoice/9?x=1 as /invoice", async () => {
    const h = await scenario.start({ ROUTES: "/provider,/invoice" });
    for (const target of ["/provider/42", "/provider", "/invoice/9?x=1", "/invoices"]) {
      await (await fetch(`${h.url}${target}`)).arrayBuffer();
    }
    expect(scenario.upstream.received.map((r) => r.url)).toEqual([
      "/provider/42",
      "/provider",
      "/invoice/9?x=1",
    ]);
    expect(await h.metric("retry_sidecar_requests_total", { route: "/provider", code: "200" })).toBe(2);
    expect(await h.metric("retry_sidecar_requests_total", { route: "/invoice", code: "200" })).toBe(1);
    expect(await h.metric("retry_sidecar_requests_total", { route: "none", code: "404" })).toBe(1);
    expect(
      await h.metric("retry_sidecar_upstream_attempts_total", { route: "/invoice", outcome: "200" }),
    ).toBe(1);
    const routes = new Set([...(await metricsText(h)).matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    expect([...routes].sort()).toEqual(["/invoice", "/provider", "none"]);
  });
});

describe("path safety: dot-segments and absolute-form targets", () => {
  it.each([
    "/provider/../admin",
    "/provider/./x",
    "/provider/%2e%2e/x",
    "/provider/%2E%2E/x",
    "/provider/%2e/x",
    "/provider/..",
    "/provider/x/..?y=1",
    "/provider/.%2e/x",
  ])("refuses %s with a JSON 400 and sends nothing upstream", async (target) => {
    const h = await scenario.start({ ROUTES: "/" });
    const res = await rawRequest(h.sidecar.proxyPort, {
      method: "POST",
      target,
      headers: ["Host", "sidecar", "Content-Length", "4"],
      body: "data",
    });
    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(typeof (JSON.parse(res.body.toString()) as { error?: unknown }).error).toBe("string");
    expect(scenario.upstream.received).toHaveLength(0);
    expect(
      await h.metric("retry_sidecar_requests_total", { route: "none", method: "POST", code: "400" }),
    ).toBe(1);
  });

  it("does not mistake dots inside a segment for a dot-segment", async () => {
    const h = await scenario.start();
    const res = await rawRequest(h.sidecar.proxyPort, {
      target: "/provider/v1.2/..x/.hidden/a..b?q=../..",
      headers: ["Host", "sidecar"],
    });
    expect(res.status).toBe(200);
    expect(scenario.upstream.received.map((r) => r.url)).toEqual(["/provider/v1.2/..x/.hidden/a..b?q=../.."]);
  });

  it.each([
    "http://evil.example/provider",
    "http://evil.example:8080/provider/42",
    "https://127.0.0.1:1/provider",
  ])("refuses the absolute-form target %s with 400", async (target) => {
    const h = await scenario.start();
    const res = await rawRequest(h.sidecar.proxyPort, {
      method: "POST",
      target,
      headers: ["Host", "evil.example", "Content-Length", "2"],
      body: "{}",
    });
    expect(res.status).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(scenario.upstream.received).toHaveLength(0);
  });

  it("forwards an absolute-form target naming the sidecar as LOCALHOST (host case-insensitive)", async () => {
    const h = await scenario.start();
    const port = h.sidecar.proxyPort;
    const res = await rawRequest(port, {
      target: `http://LOCALHOST:${port}/provider/x?y=1`,
      headers: ["Host", `localhost:${port}`],
    });
    expect(res.status).toBe(200);
    expect(scenario.upstream.received.map((r) => r.url)).toEqual(["/provider/x?y=1"]);
  });

  it("still refuses a dot-segment inside an absolute-form target naming the sidecar", async () => {
    const h = await scenario.start({ ROUTES: "/" });
    const port = h.sidecar.proxyPort;
    const res = await rawRequest(port, {
      target: `http://127.0.0.1:${port}/provider/%2E./admin`,
      headers: ["Host", `127.0.0.1:${port}`],
    });
    expect(res.status).toBe(400);
    expect(scenario.upstream.received).toHaveLength(0);
  });

  it("forwards an absolute-form target that names the sidecar itself", async () => {
    const h = await scenario.start();
    const port = h.sidecar.proxyPort;
    const res = await rawRequest(port, {
      method: "POST",
      target: `http://127.0.0.1:${port}/provider/42?x=1`,
      headers: ["Host", `127.0.0.1:${port}`, "Content-Length", "2"],
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("from upstream");
    expect(scenario.upstream.received.map((r) => [r.method, r.url, r.body.toString()])).toEqual([
      ["POST", "/provider/42?x=1", "{}"],
    ]);
    expect(await h.metric("retry_sidecar_requests_total", { route: "/provider", code: "200" })).toBe(1);
  });
});

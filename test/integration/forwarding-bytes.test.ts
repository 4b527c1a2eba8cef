import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { headerValues, rawRequest } from "../support/raw-http.js";
import { useScenario } from "../support/scenario.js";

// docs/contract.md "Forwarding": the upstream request keeps method, path (appended to the UPSTREAM_URL
// base path), query and body byte for byte, and the end-to-end headers as the client sent them.

const scenario = useScenario({ status: 200, body: "ok" }, {});

// Every byte value, twice, then random bytes: no text decoding anywhere on the way.
const BINARY = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)),
  randomBytes(4096),
]);

describe("method, path, query and body, byte for byte", () => {
  it.each(["POST", "PUT", "PATCH", "DELETE"])("%s with a binary body", async (method) => {
    const h = await scenario.start();
    const res = await fetch(`${h.url}/provider/42?x=1`, {
      method,
      body: BINARY,
      headers: { "content-type": "application/octet-stream" },
    });
    expect(res.status).toBe(200);
    expect(scenario.upstream.received).toHaveLength(1);
    const got = scenario.upstream.received[0];
    expect(got?.method).toBe(method);
    expect(got?.url).toBe("/provider/42?x=1");
    expect(got?.body.equals(BINARY)).toBe(true);
    expect(got?.headers["content-length"]).toBe(String(BINARY.length));
    expect(got?.headers["content-type"]).toBe("application/octet-stream");
  });

  it.each(["GET", "HEAD", "OPTIONS", "DELETE"])("%s without a body", async (method) => {
    const h = await scenario.start();
    const res = await fetch(`${h.url}/provider/42`, { method });
    expect(res.status).toBe(200);
    expect(scenario.upstream.received.map((r) => [r.method, r.url, r.body.length])).toEqual([
      [method, "/provider/42", 0],
    ]);
    expect(res.headers.get("x-attempt-count")).toBe("1");
    expect(res.headers.get("x-hono-already-sent")).toBeNull();
    expect(await res.text()).toBe(method === "HEAD" ? "" : "ok");
  });

  it("answers HEAD with the upstream's status and headers, after the upstream answered", async () => {
    const h = await scenario.start();
    scenario.upstream.script({ status: 204, headers: { "x-from": "upstream", etag: '"v1"' }, delayMs: 50 });
    const res = await rawRequest(h.sidecar.proxyPort, {
      method: "HEAD",
      target: "/provider",
      headers: ["Host", "s"],
    });
    expect(res.status).toBe(204);
    expect(res.headers["x-from"]).toBe("upstream");
    expect(res.headers.etag).toBe('"v1"');
    expect(res.body.length).toBe(0);
    expect(await h.metric("retry_sidecar_requests_total", { method: "HEAD", code: "204" })).toBe(1);
  });

  it("appends path and query to the base path of UPSTREAM_URL", async () => {
    const h = await scenario.start({ UPSTREAM_URL: `${scenario.upstream.url}/base` });
    const res = await rawRequest(h.sidecar.proxyPort, {
      target: "/provider/42?x=1&y=%20",
      headers: ["Host", "sidecar"],
    });
    expect(res.status).toBe(200);
    expect(scenario.upstream.received.map((r) => r.url)).toEqual(["/base/provider/42?x=1&y=%20"]);
  });

  it("does not double the slash of a base path written with a trailing /", async () => {
    const h = await scenario.start({ UPSTREAM_URL: `${scenario.upstream.url}/base/v2/` });
    await (await fetch(`${h.url}/provider`)).arrayBuffer();
    expect(scenario.upstream.received.map((r) => r.url)).toEqual(["/base/v2/provider"]);
  });

  it.each([
    "/provider?x=1&y=%20",
    "/provider?a=b+c&a=d&&e=&f",
    "/provider?q=caf%C3%A9&Q=%2F%2f%3F%3d",
    "/provider?weird=[1]|{2}&x=a%25b",
    "/provider/%7Euser/A%2Fb?",
    "/provider?",
    "/provider/with;matrix=1/x",
  ])("keeps the target %s exactly", async (target) => {
    const h = await scenario.start();
    const res = await rawRequest(h.sidecar.proxyPort, { target, headers: ["Host", "sidecar"] });
    expect(res.status).toBe(200);
    expect(scenario.upstream.received.map((r) => r.url)).toEqual([target]);
  });

  it("forwards a chunked request body as the same bytes", async () => {
    const h = await scenario.start();
    const res = await rawRequest(h.sidecar.proxyPort, {
      method: "POST",
      target: "/provider",
      headers: ["Host", "sidecar", "Transfer-Encoding", "chunked"],
      body: BINARY,
    });
    expect(res.status).toBe(200);
    expect(scenario.upstream.received[0]?.body.equals(BINARY)).toBe(true);
  });

  it("forwards a body larger than MAX_BODY_BYTES intact (streamed, not refused)", async () => {
    const h = await scenario.start({ MAX_BODY_BYTES: "1024" });
    const big = randomBytes(256 * 1024);
    const res = await fetch(`${h.url}/provider`, { method: "PUT", body: big });
    expect(res.status).toBe(200);
    expect(scenario.upstream.received).toHaveLength(1);
    expect(scenario.upstream.received[0]?.body.equals(big)).toBe(true);
  });

  it("forwards an empty body with Content-Length: 0", async () => {
    const h = await scenario.start();
    const res = await fetch(`${h.url}/provider`, { method: "POST", body: "" });
    expect(res.status).toBe(200);
    expect(scenario.upstream.received[0]?.body.length).toBe(0);
    expect(scenario.upstream.received[0]?.headers["content-length"]).toBe("0");
  });
});

describe("end-to-end request headers", () => {
  it("keeps duplicates, their order and the case of their values", async () => {
    const h = await scenario.start();
    const res = await rawRequest(h.sidecar.proxyPort, {
      method: "POST",
      target: "/provider",
      headers: [
        "Host",
        "sidecar",
        "X-Custom",
        "Value-One",
        "Accept",
        "Text/Plain; Q=0.5",
        "x-custom",
        "VALUE-two",
        "X-Empty",
        "",
        "Content-Type",
        "application/JSON; charset=UTF-8",
        "X-Spaces",
        "a  b\tc",
        "Content-Length",
        "2",
      ],
      body: "{}",
    });
    expect(res.status).toBe(200);
    const raw = scenario.upstream.received[0]?.rawHeaders ?? [];
    expect(headerValues(raw, "x-custom")).toEqual(["Value-One", "VALUE-two"]);
    expect(headerValues(raw, "accept")).toEqual(["Text/Plain; Q=0.5"]);
    expect(headerValues(raw, "x-empty")).toEqual([""]);
    expect(headerValues(raw, "content-type")).toEqual(["application/JSON; charset=UTF-8"]);
    expect(headerValues(raw, "x-spaces")).toEqual(["a  b\tc"]);
    // Relative order of the client's end-to-end headers is kept.
    const names = raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    const order = ["x-custom", "accept", "content-type", "x-spaces"].map((n) => names.indexOf(n));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it("keeps Authorization and Cookie (end-to-end) as sent", async () => {
    const h = await scenario.start();
    await rawRequest(h.sidecar.proxyPort, {
      target: "/provider",
      headers: ["Host", "sidecar", "Authorization", "Bearer AbC.dEf", "Cookie", "a=1; B=2"],
    });
    const raw = scenario.upstream.received[0]?.rawHeaders ?? [];
    expect(headerValues(raw, "authorization")).toEqual(["Bearer AbC.dEf"]);
    expect(headerValues(raw, "cookie")).toEqual(["a=1; B=2"]);
  });
});

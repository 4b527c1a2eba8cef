import { describe, expect, it } from "vitest";
import { headerValues, rawRequest } from "../support/raw-http.js";
import { useScenario } from "../support/scenario.js";

// docs/contract.md "Forwarding": hop-by-hop headers dropped both ways, Host rewritten, X-Forwarded-*
// set, X-Request-Id kept or generated (one per client request), x-attempt-count per attempt.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const scenario = useScenario({ status: 200, body: "ok" }, { BACKOFF_BASE_MS: "1", BACKOFF_JITTER: "0" });

const names = (raw: readonly string[]) => raw.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());

describe("hop-by-hop request headers", () => {
  it("drops Connection, the headers it names, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade", async () => {
    const h = await scenario.start();
    const res = await rawRequest(h.sidecar.proxyPort, {
      method: "POST",
      target: "/provider",
      headers: [
        "Host",
        "sidecar.local",
        "Connection",
        "keep-alive, X-Hop-One",
        "Connection",
        "x-hop-two",
        "X-Hop-One",
        "secret-1",
        "X-Hop-Two",
        "secret-2",
        "Keep-Alive",
        "timeout=77",
        "Proxy-Connection",
        "keep-alive",
        "TE",
        "trailers",
        "Trailer",
        "X-Checksum",
        "Upgrade",
        "h2c",
        "Transfer-Encoding",
        "chunked",
        "X-End-To-End",
        "kept",
      ],
      body: "chunked body",
    });
    expect(res.status).toBe(200);
    const got = scenario.upstream.received[0];
    const raw = got?.rawHeaders ?? [];
    const sent = names(raw);
    for (const name of [
      "x-hop-one",
      "x-hop-two",
      "proxy-connection",
      "te",
      "trailer",
      "upgrade",
      "transfer-encoding",
    ]) {
      expect(sent, name).not.toContain(name);
    }
    // The upstream connection may carry its own Connection/Keep-Alive; never the client's.
    expect(headerValues(raw, "connection").join()).not.toMatch(/x-hop/i);
    expect(headerValues(raw, "keep-alive")).not.toContain("timeout=77");
    expect(JSON.stringify(raw)).not.toContain("secret-");
    expect(headerValues(raw, "x-end-to-end")).toEqual(["kept"]);
    expect(got?.body.toString()).toBe("chunked body");
  });

  it("does not forward x-retry-max (the sidecar's own control)", async () => {
    const h = await scenario.start();
    await (await fetch(`${h.url}/provider`, { headers: { "x-retry-max": "1" } })).arrayBuffer();
    expect(names(scenario.upstream.received[0]?.rawHeaders ?? [])).not.toContain("x-retry-max");
  });
});

describe("Host and X-Forwarded-*", () => {
  it("sends the upstream's host:port as Host and the client's Host as X-Forwarded-Host", async () => {
    const h = await scenario.start({ UPSTREAM_URL: `${scenario.upstream.url}/base` });
    await rawRequest(h.sidecar.proxyPort, {
      target: "/provider",
      headers: ["Host", "billing.internal:8080"],
    });
    const raw = scenario.upstream.received[0]?.rawHeaders ?? [];
    expect(headerValues(raw, "host")).toEqual([`127.0.0.1:${scenario.upstream.port}`]);
    expect(headerValues(raw, "x-forwarded-host")).toEqual(["billing.internal:8080"]);
    expect(headerValues(raw, "x-forwarded-proto")).toEqual(["http"]);
    expect(headerValues(raw, "x-forwarded-for")).toEqual(["127.0.0.1"]);
  });

  it("appends the client address to an existing X-Forwarded-For", async () => {
    const h = await scenario.start();
    await rawRequest(h.sidecar.proxyPort, {
      target: "/provider",
      headers: ["Host", "sidecar", "X-Forwarded-For", "203.0.113.7, 10.0.0.1"],
    });
    expect(headerValues(scenario.upstream.received[0]?.rawHeaders ?? [], "x-forwarded-for")).toEqual([
      "203.0.113.7, 10.0.0.1, 127.0.0.1",
    ]);
  });

  it("sets them on fetch() requests too (Host = what the client used)", async () => {
    const h = await scenario.start();
    await (await fetch(`${h.url}/provider`)).arrayBuffer();
    const headers = scenario.upstream.received[0]?.headers ?? {};
    expect(headers.host).toBe(`127.0.0.1:${scenario.upstream.port}`);
    expect(headers["x-forwarded-host"]).toBe(`127.0.0.1:${h.sidecar.proxyPort}`);
    expect(headers["x-forwarded-proto"]).toBe("http");
    expect(headers["x-forwarded-for"]).toBe("127.0.0.1");
  });
});

describe("X-Request-Id", () => {
  it("keeps the client's id: upstream, response and log", async () => {
    const h = await scenario.start({ LOG_REQUESTS: "all" });
    const res = await fetch(`${h.url}/provider`, { headers: { "x-request-id": "Req-ABC-123" } });
    await res.arrayBuffer();
    expect(res.headers.get("x-request-id")).toBe("Req-ABC-123");
    expect(headerValues(scenario.upstream.received[0]?.rawHeaders ?? [], "x-request-id")).toEqual([
      "Req-ABC-123",
    ]);
    const line = await h.waitForLog((l) => l.msg === "request completed");
    expect(line.reqId).toBe("Req-ABC-123");
  });

  it("generates one UUID per request, the same on every attempt, returned and logged", async () => {
    const h = await scenario.start();
    scenario.upstream.script({ status: 503 }, { status: 502 });
    const res = await fetch(`${h.url}/provider`, { method: "POST", body: "x" });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    const id = res.headers.get("x-request-id") ?? "";
    expect(id).toMatch(UUID);
    expect(scenario.upstream.received.map((r) => headerValues(r.rawHeaders, "x-request-id"))).toEqual([
      [id],
      [id],
      [id],
    ]);
    const completed = await h.waitForLog((l) => l.msg === "request completed");
    expect(completed.reqId).toBe(id);
    const retries = h.logs.filter((l) => l.msg === "upstream retry");
    expect(retries.map((l) => l.reqId)).toEqual([id, id]);

    const again = await fetch(`${h.url}/provider`);
    await again.arrayBuffer();
    const second = again.headers.get("x-request-id") ?? "";
    expect(second).toMatch(UUID);
    expect(second).not.toBe(id);
  });

  it("is returned on the sidecar's own answers too (502 after the upstream went away)", async () => {
    const h = await scenario.start({ MAX_RETRIES: "0" });
    scenario.upstream.script({ reset: true });
    const res = await fetch(`${h.url}/provider`, { headers: { "x-request-id": "gone-1" } });
    expect(res.status).toBe(502);
    expect(res.headers.get("x-request-id")).toBe("gone-1");
  });
});

describe("x-attempt-count", () => {
  it("numbers the attempts 1, 2, 3 and tells the client how many were made", async () => {
    const h = await scenario.start();
    scenario.upstream.script({ status: 500 }, { status: 429 });
    const res = await fetch(`${h.url}/provider`, { method: "PUT", body: "b" });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-attempt-count")).toBe("3");
    expect(scenario.upstream.received.map((r) => headerValues(r.rawHeaders, "x-attempt-count"))).toEqual([
      ["1"],
      ["2"],
      ["3"],
    ]);
  });

  it("replaces a client-sent x-attempt-count with the sidecar's own", async () => {
    const h = await scenario.start();
    scenario.upstream.script({ status: 503 });
    const res = await rawRequest(h.sidecar.proxyPort, {
      target: "/provider",
      headers: ["Host", "s", "X-Attempt-Count", "7", "x-attempt-count", "9"],
    });
    expect(res.status).toBe(200);
    expect(scenario.upstream.received.map((r) => headerValues(r.rawHeaders, "x-attempt-count"))).toEqual([
      ["1"],
      ["2"],
    ]);
    expect(headerValues(res.rawHeaders, "x-attempt-count")).toEqual(["2"]);
  });

  it("replaces an x-attempt-count sent by the upstream in its response", async () => {
    const h = await scenario.start();
    scenario.upstream.script({
      status: 200,
      headers: { "x-attempt-count": "42", "x-request-id": "upstream-id" },
    });
    const res = await rawRequest(h.sidecar.proxyPort, {
      target: "/provider",
      headers: ["Host", "s", "X-Request-Id", "client-id"],
    });
    expect(headerValues(res.rawHeaders, "x-attempt-count")).toEqual(["1"]);
    expect(headerValues(res.rawHeaders, "x-request-id")).toEqual(["client-id"]);
  });
});

describe("hop-by-hop response headers", () => {
  it("does not pass the upstream's hop-by-hop headers to the client", async () => {
    const h = await scenario.start();
    scenario.upstream.script({
      status: 200,
      headers: {
        Connection: "X-Up-Hop",
        "X-Up-Hop": "hop-secret",
        "Keep-Alive": "timeout=99",
        "Proxy-Connection": "keep-alive",
        Upgrade: "h2c",
        Trailer: "X-Checksum",
        "X-End-To-End": "Kept-Value",
      },
      body: "answer",
    });
    const res = await rawRequest(h.sidecar.proxyPort, { target: "/provider", headers: ["Host", "s"] });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe("answer");
    const got = names(res.rawHeaders);
    for (const name of ["x-up-hop", "proxy-connection", "upgrade", "trailer"])
      expect(got, name).not.toContain(name);
    expect(headerValues(res.rawHeaders, "keep-alive")).not.toContain("timeout=99");
    expect(headerValues(res.rawHeaders, "connection").join()).not.toMatch(/x-up-hop/i);
    expect(headerValues(res.rawHeaders, "x-end-to-end")).toEqual(["Kept-Value"]);
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { exchange, rawRequest } from "../faults/support/raw-client.js";
import { answer, type RawUpstream, startRawUpstream } from "../faults/support/raw-upstream.js";
import { type Harness, startHarness } from "../support/sidecar-harness.js";

// Hostile clients: each request must be refused cleanly (a 4xx answer or, where HTTP framing is
// broken, a 400 and a closed connection), nothing may reach the upstream, and the sidecar
// must keep serving. One sidecar for the file: a refusal must not disturb the next request.

let upstream: RawUpstream;
let harness: Harness;
let port: number;

beforeAll(async () => {
  upstream = await startRawUpstream(answer(200, "ok"));
  harness = await startHarness({ UPSTREAM_URL: upstream.url, REQUEST_TIMEOUT_MS: "500" });
  port = harness.sidecar.proxyPort;
});
afterAll(async () => {
  await harness.close();
  await upstream.close();
});
beforeEach(() => {
  upstream.requests.length = 0;
});

/** Refused with `status`, nothing forwarded, and a normal request right after still works. */
async function expectRefused(bytes: string, status: number): Promise<void> {
  const result = await exchange(port, bytes, { timeoutMs: 5000 });
  expect(result.finals.map((r) => r.status)).toEqual([status]);
  expect(result.ended).not.toBe("timeout");
  expect(upstream.requests).toHaveLength(0);
  const ok = await exchange(port, rawRequest("GET", "/provider/ok"));
  expect(ok.finals.map((r) => r.status)).toEqual([200]);
}

describe("dot-segments in every encoding: 400, never forwarded", () => {
  it.each([
    "/provider/../admin",
    "/provider/..",
    "/provider/.",
    "/provider/./x",
    "/provider/..?x=1",
    "/provider/%2e%2e/admin",
    "/provider/%2E%2E/admin",
    "/provider/%2e./admin",
    "/provider/.%2E/admin",
    "/provider/%2e",
    "/provider/%252e%252e/admin",
    "/provider/%25252e%25252e/admin",
    "/provider/..%2fadmin",
    "/provider/..%2Fadmin",
    "/provider/%2e%2e%2fadmin",
    "/provider/..%5cadmin",
    "/provider\\..\\admin",
    "/provider/%5c..%5cadmin",
    "/provider/%u002e%u002e/admin",
    "/provider/%c0%ae%c0%ae/admin",
    "/provider/%e0%80%ae%e0%80%ae/admin",
    "/provider/..;/admin",
    "/provider/.;x=1/admin",
  ])("GET %s", async (target) => {
    const result = await exchange(port, rawRequest("GET", target));
    expect(result.finals.map((r) => r.status)).toEqual([400]);
    // Refused by the target check, or (a backslash) already by the URL parser in front of it.
    expect(["bad_request_target", "bad_request"]).toContain(JSON.parse(result.finals[0]?.body ?? "").reason);
    expect(upstream.requests).toHaveLength(0);
  });

  it.each([
    "/provider/a..b",
    "/provider/...",
    "/provider/.well-known",
    "/provider/%2e%2e%2e",
    "/provider?x=/../y",
  ])("a path that only looks like one is forwarded: %s", async (target) => {
    const result = await exchange(port, rawRequest("GET", target));
    expect(result.finals.map((r) => r.status)).toEqual([200]);
    expect(upstream.requests.map((r) => r.target)).toEqual([target]);
  });
});

describe("request targets that are not origin-form", () => {
  it.each([
    ["absolute-form for another host", "http://billing.evil/provider"],
    ["absolute-form https for another host", "https://billing.evil:443/provider"],
    ["absolute-form with userinfo trick", `http://127.0.0.1:1@billing.evil/provider`],
    ["asterisk-form", "*"],
    ["bare host and path", "billing.evil/provider"],
  ])("%s → 400", async (_name, target) => {
    await expectRefused(rawRequest("GET", target), 400);
  });

  it("absolute-form naming the sidecar itself is an ordinary request", async () => {
    const result = await exchange(port, rawRequest("GET", `http://127.0.0.1:${port}/provider/1`));
    expect(result.finals.map((r) => r.status)).toEqual([200]);
    expect(upstream.requests.map((r) => r.target)).toEqual(["/provider/1"]);
  });

  it("a network-path reference (//host/path) is a path that matches no route: 404", async () => {
    await expectRefused(rawRequest("GET", "//billing.evil/provider"), 404);
  });
});

describe("broken or ambiguous framing (request smuggling): 400 and the connection closed", () => {
  const head = (headers: string) => `POST /provider HTTP/1.1\r\nhost: x\r\n${headers}\r\n`;
  it.each([
    [
      "Content-Length and Transfer-Encoding",
      `${head("content-length: 5\r\ntransfer-encoding: chunked\r\n")}0\r\n\r\n`,
    ],
    ["two different Content-Lengths", `${head("content-length: 5\r\ncontent-length: 6\r\n")}hello!`],
    ["a Content-Length list", `${head("content-length: 5, 6\r\n")}hello!`],
    ["a negative Content-Length", head("content-length: -1\r\n")],
    [
      "Transfer-Encoding not ending in chunked",
      `${head("transfer-encoding: chunked, identity\r\n")}0\r\n\r\n`,
    ],
    ["an obfuscated Transfer-Encoding", `${head("transfer-encoding: xchunked\r\n")}0\r\n\r\n`],
    ["a space before the colon", `${head("content-length : 5\r\n")}hello`],
    ["obsolete line folding", head("x-a: 1\r\n folded\r\ncontent-length: 0\r\n")],
    ["a bad chunk size", `${head("transfer-encoding: chunked\r\n")}zz\r\nhello\r\n0\r\n\r\n`],
    ["a control character in a header value", head("x-a: a\u0001b\r\ncontent-length: 0\r\n")],
    ["HTTP/2 preface on an HTTP/1.1 port", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
    ["an unknown HTTP version", "GET /provider HTTP/3.7\r\nhost: x\r\n\r\n"],
  ])("%s", async (_name, bytes) => {
    await expectRefused(bytes, 400);
  });
});

describe("invalid methods and tunnels", () => {
  it.each([
    ["a method with a separator", "GE@T /provider HTTP/1.1\r\nhost: x\r\n\r\n"],
    ["a method llhttp does not know", "FOOBAR /provider HTTP/1.1\r\nhost: x\r\n\r\n"],
    ["a lower-case method", "get /provider HTTP/1.1\r\nhost: x\r\n\r\n"],
    ["no method at all", " /provider HTTP/1.1\r\nhost: x\r\n\r\n"],
  ])("%s → 400", async (_name, bytes) => {
    await expectRefused(bytes, 400);
  });

  it("CONNECT gets a JSON 405, not a tunnel and not a dropped socket", async () => {
    const result = await exchange(
      port,
      "CONNECT billing.evil:443 HTTP/1.1\r\nhost: billing.evil:443\r\n\r\n",
    );
    expect(result.finals.map((r) => r.status)).toEqual([405]);
    expect(result.finals[0]?.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(result.finals[0]?.body ?? "")).toMatchObject({ reason: "connect_not_supported" });
    expect(result.ended).toBe("end");
    expect(upstream.connections).toBeGreaterThanOrEqual(0);
    expect(upstream.requests).toHaveLength(0);
    const ok = await exchange(port, rawRequest("GET", "/provider/ok"));
    expect(ok.finals.map((r) => r.status)).toEqual([200]);
  });

  it("an Upgrade request is forwarded as a plain request, Upgrade and Connection dropped", async () => {
    const result = await exchange(
      port,
      rawRequest("GET", "/provider/ws", { upgrade: "websocket", connection: "upgrade" }).replace(
        "connection: close\r\n",
        "",
      ),
      { timeoutMs: 1000 },
    );
    expect(result.finals.map((r) => r.status)).toEqual([200]);
    expect(upstream.requests[0]?.headers.upgrade).toBeUndefined();
  });
});

describe("oversized and slow clients", () => {
  it("request headers over 16 KiB → 431", async () => {
    await expectRefused(rawRequest("GET", "/provider", { "x-big": "a".repeat(20_000) }), 431);
  });

  it("many small headers adding up to 30 KiB → 431", async () => {
    // Node counts the limit per parse step, so ~20 KiB of small headers can still pass; 30 KiB cannot.
    const headers = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`x-h${i}`, "0123456789"]));
    await expectRefused(rawRequest("GET", "/provider", headers), 431);
  });

  it("a URL over 16 KiB → 431", async () => {
    await expectRefused(rawRequest("GET", `/provider/${"a".repeat(20_000)}`), 431);
  });

  it("slow-loris headers (one line every 150 ms, never finished): 408 and closed within the limit", async () => {
    // REQUEST_TIMEOUT_MS=500: the client gets 2 x 500 ms for its request, headers included.
    const pieces = [
      "GET /provider HTTP/1.1\r\nhost: x\r\n",
      ...Array.from({ length: 40 }, (_, i) => `x-slow-${i}: 1\r\n`),
    ];
    const result = await exchange(port, "", { pieces, pieceGapMs: 150, timeoutMs: 6000 });
    expect(result.finals.map((r) => r.status)).toEqual([408]);
    expect(result.ended).toBe("end");
    expect(result.ms).toBeLessThan(4000); // limit 1 s + check interval 1 s + a loaded CI machine
    expect(upstream.requests).toHaveLength(0);
  });

  it("slow-loris body (1 byte every 150 ms of 100 announced): cut at the request limit, nothing forwarded", async () => {
    const pieces = [
      "POST /provider HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n",
      ...Array.from({ length: 40 }, () => "a"),
    ];
    const result = await exchange(port, "", { pieces, pieceGapMs: 150, timeoutMs: 6000 });
    expect(result.finals.map((r) => r.status)).toEqual([408]);
    expect(result.ms).toBeLessThan(4000); // limit 1 s + check interval 1 s + a loaded CI machine
    expect(upstream.requests).toHaveLength(0);
    const ok = await exchange(port, rawRequest("GET", "/provider/ok"));
    expect(ok.finals.map((r) => r.status)).toEqual([200]);
  });

  it("a connection opened and never written to is closed, not held forever", async () => {
    const result = await exchange(port, "", { pieces: [], timeoutMs: 6000 });
    expect(result.ended).toBe("end");
    expect(result.ms).toBeLessThan(4000); // limit 1 s + check interval 1 s + a loaded CI machine
  });
});

describe("Expect", () => {
  it("Expect: 100-continue: the client gets 100 then the answer; Expect is not sent upstream", async () => {
    const head =
      "POST /provider HTTP/1.1\r\nhost: x\r\nconnection: close\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n";
    const result = await exchange(port, "", { pieces: [head, "hello"], pieceGapMs: 100 });
    expect(result.responses.map((r) => r.status)).toEqual([100, 200]);
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]?.headers.expect).toBeUndefined();
    expect(upstream.requests[0]?.body.toString()).toBe("hello");
  });

  it("an unknown expectation → 417, nothing forwarded", async () => {
    await expectRefused(rawRequest("POST", "/provider", { expect: "teapot" }, "hello"), 417);
  });

  it("the 417 is the sidecar's JSON answer, with its request id, counted under the route, the connection kept", async () => {
    const counted = () =>
      harness.metric("retry_sidecar_local_replies_total", {
        route: "/provider",
        reason: "expectation_failed",
      });
    const before = await counted();
    // Kept alive (rawRequest asks for a close): the next request on the connection must be served.
    const refused =
      "POST /provider/x HTTP/1.1\r\nhost: x\r\nexpect: teapot\r\nx-request-id: exp-1\r\ncontent-length: 5\r\n\r\nhello";
    const result = await exchange(port, refused + rawRequest("GET", "/provider/ok"));
    expect(result.finals.map((r) => r.status)).toEqual([417, 200]);
    const first = result.finals[0];
    expect(first?.headers["x-request-id"]).toBe("exp-1");
    expect(first?.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(first?.body ?? "")).toEqual({
      error: "only Expect: 100-continue is supported",
      reason: "expectation_failed",
    });
    expect(upstream.requests.map((r) => r.target)).toEqual(["/provider/ok"]);
    expect(await counted()).toBe(before + 1);
  });
});

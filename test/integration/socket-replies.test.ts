import { describe, expect, it } from "vitest";
import { exchange, rawRequest } from "../faults/support/raw-client.js";
import { UUID, useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";

// docs/contract.md "Answers of the sidecar itself": what never reaches the router (CONNECT, and
// requests Node's parser refuses) is answered like its other refusals: a JSON body with error and
// reason, X-Request-Id (a client's kept where Node parsed it), the connection closed; counted in
// requests_total and local_replies_total with route "none", and logged as "request completed".

const s = useScenario();

const completedLine = (h: Harness, id: string) =>
  h.waitForLog((l) => l.msg === "request completed" && l.reqId === id);

describe("CONNECT", () => {
  it("gets 405 JSON with the client's X-Request-Id, counted and logged like other local answers", async () => {
    const h = await s.start();
    const result = await exchange(
      h.sidecar.proxyPort,
      "CONNECT billing.evil:443 HTTP/1.1\r\nhost: billing.evil:443\r\nx-request-id: tunnel-1\r\n\r\n",
    );
    const [reply] = result.finals;
    expect(reply?.status).toBe(405);
    expect(reply?.headers["x-request-id"]).toBe("tunnel-1");
    expect(reply?.headers.connection).toBe("close");
    expect(JSON.parse(reply?.body ?? "")).toEqual({
      error: "CONNECT is not supported: this is not a tunnel",
      reason: "connect_not_supported",
    });
    expect(result.ended).toBe("end");
    expect(await completedLine(h, "tunnel-1")).toMatchObject({
      route: "none",
      method: "CONNECT",
      path: "billing.evil:443",
      status: 405,
      attempts: 0,
    });
    expect(
      await h.metric("retry_sidecar_requests_total", { route: "none", method: "CONNECT", code: "405" }),
    ).toBe(1);
    expect(
      await h.metric("retry_sidecar_local_replies_total", { route: "none", reason: "connect_not_supported" }),
    ).toBe(1);
  });

  it("generates an X-Request-Id when the client sent none", async () => {
    const h = await s.start();
    const result = await exchange(
      h.sidecar.proxyPort,
      "CONNECT billing.evil:443 HTTP/1.1\r\nhost: x\r\n\r\n",
    );
    expect(result.finals[0]?.headers["x-request-id"]).toMatch(UUID);
  });
});

describe("requests Node's parser refuses", () => {
  it.each([
    // Not the parser's refusal but Node's server's: the router answers it (requireHostHeader off).
    ["no Host header in HTTP/1.1", "GET /provider HTTP/1.1\r\n\r\n", "GET"],
    ["a target without a leading slash", "GET provider HTTP/1.1\r\nhost: x\r\n\r\n", "GET"],
    [
      "both Content-Length and Transfer-Encoding",
      "POST /provider HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST",
    ],
    ["a method Node does not know", "FOOBAR /provider HTTP/1.1\r\nhost: x\r\n\r\n", "unknown"],
  ])("%s: 400 JSON, a generated X-Request-Id, closed; counted", async (_name, bytes, method) => {
    const h = await s.start();
    const result = await exchange(h.sidecar.proxyPort, bytes, { timeoutMs: 5000 });
    expect(result.finals).toHaveLength(1);
    const [reply] = result.finals;
    expect(reply?.status).toBe(400);
    expect(reply?.headers["content-type"]).toBe("application/json");
    expect(reply?.headers.connection).toBe("close");
    const id = reply?.headers["x-request-id"] ?? "";
    expect(id).toMatch(UUID);
    const body = JSON.parse(reply?.body ?? "") as Record<string, unknown>;
    expect(body).toEqual({
      error: expect.stringMatching(/^malformed HTTP request|Host/),
      reason: "bad_request",
    });
    expect(result.ended).not.toBe("timeout");
    expect(s.upstream.received).toHaveLength(0);
    expect(await completedLine(h, id)).toMatchObject({ route: "none", method, status: 400 });
    expect(
      await h.metric("retry_sidecar_local_replies_total", { route: "none", reason: "bad_request" }),
    ).toBe(1);
    expect(await h.metric("retry_sidecar_requests_total", { route: "none", code: "400" })).toBe(1);
  });

  it("headers over 16 KiB keep Node's 431, with a JSON body", async () => {
    const h = await s.start();
    const result = await exchange(
      h.sidecar.proxyPort,
      rawRequest("GET", "/provider", { "x-big": "a".repeat(20_000) }),
    );
    const [reply] = result.finals;
    expect(reply?.status).toBe(431);
    expect(reply?.headers["x-request-id"]).toMatch(UUID);
    expect(JSON.parse(reply?.body ?? "")).toEqual({ error: expect.any(String), reason: "headers_too_large" });
    expect(
      await h.metric("retry_sidecar_local_replies_total", { route: "none", reason: "headers_too_large" }),
    ).toBe(1);
  });

  it("headers too slow to arrive keep Node's 408, with a JSON body", async () => {
    const h = await s.start({ REQUEST_TIMEOUT_MS: "500" }); // 1 s for the whole request
    const result = await exchange(h.sidecar.proxyPort, "", {
      pieces: [
        "GET /provider HTTP/1.1\r\nhost: x\r\n",
        ...Array.from({ length: 30 }, (_, i) => `x-${i}: 1\r\n`),
      ],
      pieceGapMs: 150,
      timeoutMs: 6000,
    });
    const [reply] = result.finals;
    expect(reply?.status).toBe(408);
    expect(JSON.parse(reply?.body ?? "")).toEqual({ error: expect.any(String), reason: "request_timeout" });
    expect(result.ended).toBe("end");
    expect(
      await h.metric("retry_sidecar_local_replies_total", { route: "none", reason: "request_timeout" }),
    ).toBe(1);
  });

  it("the series of these reasons exist from start-up, at 0", async () => {
    const h = await s.start();
    const exposition = await (await fetch(`${h.adminUrl}/metrics`)).text();
    for (const reason of [
      "connect_not_supported",
      "headers_too_large",
      "chunk_extensions_too_large",
      "request_timeout",
    ]) {
      expect(exposition).toContain(`retry_sidecar_local_replies_total{route="none",reason="${reason}"} 0`);
    }
  });
});

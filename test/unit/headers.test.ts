import { describe, expect, it } from "vitest";
import { buildClientHeaders } from "../../src/proxy/response-headers.js";
import { retryLimit } from "../../src/proxy/retry-limit.js";
import { buildUpstreamHeaders } from "../../src/proxy/upstream-headers.js";

const input = {
  connection: "keep-alive, X-Secret-Hop" as string | undefined,
  clientAddress: "127.0.0.1",
  upstreamHost: "billing:5002",
  requestId: "req-1",
  idempotency: undefined as readonly [string, string] | undefined,
  contentLength: "7" as string | undefined,
};

const pairs = (flat: string[]) => {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
};

describe("upstream request headers", () => {
  it("drops hop-by-hop headers (RFC 9110 §7.6.1) and those Connection names; keeps the rest in order", () => {
    const raw = [
      "Host",
      "sidecar:8080",
      "Connection",
      "keep-alive, X-Secret-Hop",
      "X-Secret-Hop",
      "1",
      "Keep-Alive",
      "timeout=5",
      "Proxy-Connection",
      "keep-alive",
      "TE",
      "trailers",
      "Trailer",
      "Expires",
      "Transfer-Encoding",
      "chunked",
      "Upgrade",
      "h2c",
      "Content-Type",
      "application/json",
      "Accept",
      "a/b",
      "Accept",
      "c/d",
      "Expect",
      "100-continue",
      "x-retry-max",
      "1",
      "x-attempt-count",
      "9",
      "Content-Length",
      "999",
    ];
    const out = pairs(buildUpstreamHeaders({ ...input, rawHeaders: raw }));
    expect(out).toEqual([
      ["host", "billing:5002"],
      ["Content-Type", "application/json"],
      ["Accept", "a/b"],
      ["Accept", "c/d"],
      ["x-forwarded-for", "127.0.0.1"],
      ["x-forwarded-proto", "http"],
      ["x-forwarded-host", "sidecar:8080"],
      ["x-request-id", "req-1"],
      ["content-length", "7"],
    ]);
  });

  it("appends to X-Forwarded-For, keeps an earlier proxy's proto and host, adds the idempotency key", () => {
    const raw = [
      "X-Forwarded-For",
      "10.0.0.1",
      "X-Forwarded-For",
      "10.0.0.2",
      "X-Forwarded-Proto",
      "https",
      "X-Forwarded-Host",
      "api.example",
      "X-Request-Id",
      "client-id",
    ];
    const out = pairs(
      buildUpstreamHeaders({
        ...input,
        rawHeaders: raw,
        idempotency: ["idempotency-key", "k-1"],
        contentLength: undefined,
      }),
    );
    expect(out).toEqual([
      ["host", "billing:5002"],
      ["x-forwarded-for", "10.0.0.1, 10.0.0.2, 127.0.0.1"],
      ["x-forwarded-proto", "https"],
      ["x-forwarded-host", "api.example"],
      ["x-request-id", "req-1"],
      ["idempotency-key", "k-1"],
    ]);
  });
});

describe("client response headers", () => {
  it("drops what each of several Connection headers names; a header of the same length is no Connection", () => {
    const out = buildClientHeaders(
      [
        "Connection",
        "x-one",
        "X-One",
        "1",
        "connection",
        "X-Two",
        "x-two",
        "2",
        "X-Trace-Id",
        "etag",
        "ETag",
        '"v1"',
      ],
      1,
      "req-2",
    );
    expect(out).toEqual([
      "X-Trace-Id",
      "etag",
      "ETag",
      '"v1"',
      "x-attempt-count",
      "1",
      "x-request-id",
      "req-2",
    ]);
  });

  it("passes end-to-end headers, drops hop-by-hop ones, adds the attempt count and request id", () => {
    const out = buildClientHeaders(
      [
        "Content-Type",
        "application/json",
        "Set-Cookie",
        "a=1",
        "Connection",
        "close, X-Hop",
        "X-Hop",
        "1",
        "set-cookie",
        "b=2",
        "Keep-Alive",
        "timeout=4",
        "Transfer-Encoding",
        "chunked",
        "Retry-After",
        "5",
        "X-Request-Id",
        "from-upstream",
        "x-attempt-count",
        "9",
      ],
      3,
      "req-1",
    );
    expect(out).toEqual([
      "Content-Type",
      "application/json",
      "Set-Cookie",
      "a=1",
      "set-cookie",
      "b=2",
      "Retry-After",
      "5",
      "x-attempt-count",
      "3",
      "x-request-id",
      "req-1",
    ]);
  });
});

describe("x-retry-max", () => {
  it.each([
    [undefined, 3],
    ["0", 0],
    ["2", 2],
    [" 1 ", 1],
    ["3", 3],
    ["99", 3],
    ["-1", 3],
    ["1.5", 3],
    ["abc", 3],
    ["", 3],
  ])("%j with MAX_RETRIES 3 allows %i retries", (header, expected) => {
    expect(retryLimit(header, 3)).toBe(expected);
  });
});

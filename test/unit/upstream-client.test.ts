import { MockAgent } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AttemptTracker } from "../../src/endpoints/attempt-tracker.js";
import { newEndpoint } from "../../src/endpoints/endpoint.js";
import type { ResponseSink } from "../../src/upstream/attempt-result.js";
import { EndpointDispatchers } from "../../src/upstream/endpoint-dispatchers.js";
import {
  type UpstreamClient as Client,
  isFailure,
  UpstreamClient,
} from "../../src/upstream/upstream-client.js";

// The upstream client against undici's MockAgent (the real Dispatcher interface, no sockets):
// path joining, headers and body handed over as given, every transport failure classified, and
// the endpoint told when each attempt starts, what it came to and when it is over.

let agent: MockAgent;
let client: Client;
let tracked: string[];
const never = new AbortController().signal;
const endpoint = newEndpoint("10.1.2.3", 5002);
const ORIGIN = "http://10.1.2.3:5002";

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  tracked = [];
  const tracker: AttemptTracker = {
    started: (e) => tracked.push(`started ${e.key}`),
    outcome: (e, o) =>
      tracked.push(
        `outcome ${e.key} ${o === undefined ? "cancelled" : o.kind === "response" ? o.status : o.failure}`,
      ),
    ended: (e) => tracked.push(`ended ${e.key}`),
  };
  client = new UpstreamClient({
    baseUrl: "http://billing:5002/api/",
    bodyTimeoutMs: 1000,
    dispatchers: new EndpointDispatchers({
      baseUrl: "http://billing:5002/api/",
      bodyTimeoutMs: 1000,
      shared: agent,
    }),
    tracker,
  });
});
afterEach(() => agent.close());

const request = (pathAndQuery = "/provider/7?x=1") => ({
  method: "POST",
  pathAndQuery,
  headers: ["content-type", "application/json", "x-attempt-count", "1"],
  body: Buffer.from('{"a":1}'),
});

describe("upstream client", () => {
  it("sends to the base path + the client's path and query, and returns status, headers and the held body", async () => {
    agent
      .get(ORIGIN)
      .intercept({
        path: "/api/provider/7?x=1",
        method: "POST",
        body: (body) => String(body) === '{"a":1}',
        headers: { "content-type": "application/json", "x-attempt-count": "1" },
      })
      .reply(201, '{"id":1}', { headers: { "retry-after": "3" } });
    const result = await client.send(request(), 1000, never, endpoint, false);
    if (isFailure(result)) throw result.error;
    expect(result.status).toBe(201);
    expect(result.outcome).toEqual({ kind: "response", status: 201, retryAfter: "3" });
    expect(result.headers).toEqual(["retry-after", "3"]);
    const sink = new RecordingSink();
    const ended = new Promise<[boolean, Error | undefined]>((resolve) =>
      result.forwardTo(sink, (gone, error) => resolve([gone, error])),
    );
    expect(await ended).toEqual([false, undefined]);
    expect(Buffer.concat(sink.chunks).toString()).toBe('{"id":1}');
    expect(tracked).toEqual(["started 10.1.2.3:5002", "outcome 10.1.2.3:5002 201", "ended 10.1.2.3:5002"]);
  });

  it("a discarded answer is never written anywhere, and forwarding it afterwards does nothing", async () => {
    agent.get(ORIGIN).intercept({ path: "/api/provider/7?x=1", method: "POST" }).reply(503, "busy");
    const result = await client.send(request(), 1000, never, endpoint, false);
    if (isFailure(result)) throw result.error;
    result.discard();
    const sink = new RecordingSink();
    let called = false;
    result.forwardTo(sink, () => {
      called = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sink.chunks).toEqual([]);
    expect(called).toBe(false);
  });

  it("host is the upstream's authority", () => {
    expect(client.host).toBe("billing:5002");
  });

  it.each([
    ["ECONNREFUSED", "connect_error", true, "UPSTREAM_CONNECT"],
    ["ENOTFOUND", "connect_error", true, "UPSTREAM_CONNECT"],
    ["UND_ERR_CONNECT_TIMEOUT", "connect_error", true, "UPSTREAM_CONNECT"],
    ["ECONNRESET", "reset", true, "UPSTREAM_RESET"],
    ["UND_ERR_SOCKET", "reset", true, "UPSTREAM_RESET"],
    ["HPE_INVALID_CONSTANT", "reset", true, "UPSTREAM_RESET"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "connect_error", false, "UPSTREAM_TLS"],
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "connect_error", false, "UPSTREAM_TLS"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "connect_error", false, "UPSTREAM_TLS"],
  ])("classifies %s as %s (retryable: %s)", async (code, failure, retryable, errorCode) => {
    const error = Object.assign(new Error(`boom ${code}`), { code });
    agent.get(ORIGIN).intercept({ path: "/api/provider/7?x=1", method: "POST" }).replyWithError(error);
    const result = await client.send(request(), 1000, never, endpoint, false);
    expect(isFailure(result)).toBe(true);
    if (!isFailure(result)) return;
    expect(result.outcome).toEqual({ kind: "failure", failure, retryable });
    expect(result.error.code).toBe(errorCode);
  });

  it("finds the socket's code behind undici's wrapper error", async () => {
    const inner = Object.assign(new Error("read ECONNRESET"), { code: "ECONNREFUSED" });
    const outer = Object.assign(new Error("other side closed", { cause: inner }), { code: "UND_ERR_SOCKET" });
    agent.get(ORIGIN).intercept({ path: "/api/provider/7?x=1", method: "POST" }).replyWithError(outer);
    const result = await client.send(request(), 1000, never, endpoint, false);
    expect(isFailure(result) && result.outcome.failure).toBe("connect_error");
  });

  it("gives up on headers after the per-try timeout", async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: "/api/provider/7?x=1", method: "POST" })
      .reply(200, "late")
      .delay(500);
    const started = Date.now();
    const result = await client.send(request(), 50, never, endpoint, false);
    expect(Date.now() - started).toBeLessThan(400);
    expect(isFailure(result) && result.outcome.failure).toBe("timeout");
    expect(tracked).toEqual([
      "started 10.1.2.3:5002",
      "outcome 10.1.2.3:5002 timeout",
      "ended 10.1.2.3:5002",
    ]);
    expect(isFailure(result) && result.error.code).toBe("UPSTREAM_TIMEOUT");
  });

  it("the client's signal cancels the attempt", async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: "/api/provider/7?x=1", method: "POST" })
      .reply(200, "late")
      .delay(500);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);
    const started = Date.now();
    const result = await client.send(request(), 5000, controller.signal, endpoint, false);
    expect(Date.now() - started).toBeLessThan(400);
    expect(isFailure(result)).toBe(true);
    // A client that left says nothing about the endpoint.
    expect(tracked).toEqual([
      "started 10.1.2.3:5002",
      "outcome 10.1.2.3:5002 cancelled",
      "ended 10.1.2.3:5002",
    ]);
  });
});

/** A client response that records what it is given. */
class RecordingSink implements ResponseSink {
  chunks: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  end(callback: () => void): void {
    setImmediate(callback);
  }
  once(): void {}
  destroy(): void {}
}

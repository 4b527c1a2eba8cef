import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { providerName, runLoad } from "../../demo/load-client.js";

// The demo's app: its results are the table's figures (ok at the first attempt, after retries,
// failed, latency), so what counts as a success and how attempts add up is tested against a real
// server that answers each provider name as the test says.

interface Origin {
  readonly url: string;
  /** Provider names in the order their requests arrived (every try). */
  readonly names: string[];
  /** Connections accepted so far, and those still open. */
  connections: number;
  readonly open: Set<Socket>;
  /** The most requests in flight at once. */
  peak: number;
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function startOrigin(answer: (name: string, res: ServerResponse) => void): Promise<Origin> {
  let inFlight = 0;
  const origin: Origin = { url: "", names: [], connections: 0, open: new Set(), peak: 0 };
  const server = createServer((req: IncomingMessage, res) => {
    inFlight++;
    origin.peak = Math.max(origin.peak, inFlight);
    res.once("close", () => inFlight--);
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const { name } = JSON.parse(Buffer.concat(chunks).toString()) as { name: string };
      origin.names.push(name);
      answer(name, res);
    });
  });
  server.on("connection", (socket) => {
    origin.connections++;
    origin.open.add(socket);
    socket.once("close", () => origin.open.delete(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(origin, { url });
}

const reply = (res: ServerResponse, status: number, headers: Record<string, string> = {}) =>
  res.writeHead(status, { "content-type": "application/json", ...headers }).end("{}");

describe("runLoad", () => {
  it("sends every request once, by name, with no more than `concurrency` in flight", async () => {
    const origin = await startOrigin((_, res) => setTimeout(() => reply(res, 201), 20));
    const results = await runLoad({ url: origin.url, requests: 8, concurrency: 3, timeoutMs: 2_000 });
    expect(origin.names.sort()).toEqual(Array.from({ length: 8 }, (_, i) => providerName(i)));
    expect(origin.peak).toBeLessThanOrEqual(3);
    expect(results.every((r) => r.ok && r.status === 201 && r.attempts === 1)).toBe(true);
  });

  it("a success is a 2xx answer: 200 and 299 are, 300 and 404 are not", async () => {
    const statuses = [200, 299, 300, 404, 201];
    const origin = await startOrigin((name, res) => reply(res, statuses[Number(name.slice(-4))] ?? 500));
    const results = await runLoad({ url: origin.url, requests: 5, concurrency: 1, timeoutMs: 2_000 });
    expect(results.map((r) => [r.status, r.ok])).toEqual([
      [200, true],
      [299, true],
      [300, false],
      [404, false],
      [201, true],
    ]);
  });

  it("attempts are the sidecar's x-attempt-count, 1 when it is missing or not a number, summed over app tries", async () => {
    const answers: Record<string, [number, Record<string, string>]> = {
      "provider-0000": [201, { "x-attempt-count": "3" }],
      "provider-0001": [201, { "x-attempt-count": "lots" }],
      "provider-0002": [201, {}],
      "provider-0003": [503, { "x-attempt-count": "4" }], // every try fails after 4 upstream attempts
    };
    const origin = await startOrigin((name, res) => {
      const [status, headers] = answers[name] ?? [500, {}];
      reply(res, status, headers);
    });
    const results = await runLoad({
      url: origin.url,
      requests: 4,
      concurrency: 1,
      timeoutMs: 2_000,
      appRetries: 2,
    });
    expect(results.map((r) => [r.ok, r.status, r.attempts])).toEqual([
      [true, 201, 3],
      [true, 201, 1],
      [true, 201, 1],
      [false, 503, 12],
    ]);
    expect(origin.names.filter((name) => name === "provider-0003")).toHaveLength(3);
  });

  it("an answer cut off in its body, or none within timeoutMs, is a failure with no status", async () => {
    const origin = await startOrigin((name, res) => {
      if (name === "provider-0000") {
        // Headers and part of the body, then the connection drops: the app never got the answer.
        res.writeHead(201, { "content-length": "100" });
        res.write("{", () => setTimeout(() => res.socket?.destroy(), 20));
      } else if (name === "provider-0001") {
        // Never answers.
      } else reply(res, 201);
    });
    const results = await runLoad({ url: origin.url, requests: 3, concurrency: 1, timeoutMs: 300 });
    expect(results.map((r) => [r.ok, r.status, r.attempts])).toEqual([
      [false, undefined, 1],
      [false, undefined, 1],
      [true, 201, 1],
    ]);
    expect(results[1]?.latencyMs).toBeGreaterThanOrEqual(250);
  });

  it("each worker keeps its own connection to its origin and makes its retries on it", async () => {
    // Worker 0 takes the first request and reaches the sick origin; worker 1 the healthy one.
    const sick = await startOrigin((_, res) => reply(res, 503));
    const healthy = await startOrigin((_, res) => reply(res, 201));
    const results = await runLoad({
      url: healthy.url,
      requests: 2,
      concurrency: 2,
      timeoutMs: 2_000,
      appRetries: 2,
      workerOrigin: (worker) => (worker === 0 ? sick.url : healthy.url),
    });
    expect(results.map((r) => [r.ok, r.status, r.attempts])).toEqual([
      [false, 503, 3],
      [true, 201, 1],
    ]);
    expect(sick.names).toEqual(["provider-0000", "provider-0000", "provider-0000"]);
    expect(sick.connections).toBe(1);
  });

  it("closes its kept-alive connections when done, shared pool or one per worker", async () => {
    // Left open, they would hold the demo's billing instances (and its process) until they idle out.
    const origin = await startOrigin((_, res) => reply(res, 201));
    await runLoad({ url: origin.url, requests: 4, concurrency: 2, timeoutMs: 2_000 });
    await runLoad({
      url: origin.url,
      requests: 4,
      concurrency: 2,
      timeoutMs: 2_000,
      workerOrigin: () => origin.url,
    });
    expect(origin.connections).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 50 && origin.open.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(origin.open.size).toBe(0);
  });
});

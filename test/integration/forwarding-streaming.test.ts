import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, get, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../support/sidecar-harness.js";

// docs/contract.md "Forwarding": the final upstream response (status, headers, body) is streamed to the
// client, not buffered. The upstream here is a plain node:http server that the test drives
// chunk by chunk.

let server: Server | undefined;
let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

async function startUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** GET through node:http so that every chunk is seen as it arrives. */
function getStreamed(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, { agent: false }, resolve).on("error", reject));
}

describe("response streaming", () => {
  it("gives the client the first chunk while the upstream still holds the rest", async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let releasedBy: "client" | "timer" | undefined;
    let upstreamFinishedAt = 0;
    const url = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(201, {
        "content-type": "text/plain; charset=utf-8",
        "x-custom": "Custom-Value",
        "set-cookie": ["a=1; Path=/", "b=2; HttpOnly"],
        "cache-control": "no-store",
      });
      res.write("first-chunk;");
      // Holds the rest until the client has read the first chunk, or 300 ms: a buffering proxy
      // would only deliver anything after the timer.
      const timer = setTimeout(() => {
        releasedBy ??= "timer";
        release();
      }, 300);
      void released.then(() => {
        clearTimeout(timer);
        upstreamFinishedAt = performance.now();
        res.end("the-rest");
      });
    });
    harness = await startHarness({ UPSTREAM_URL: url });
    const res = await getStreamed(`${harness.url}/provider/stream`);
    expect(res.statusCode).toBe(201);
    expect(res.headers["x-custom"]).toBe("Custom-Value");
    expect(res.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; HttpOnly"]);
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers["x-attempt-count"]).toBe("1");

    const chunks: string[] = [];
    let firstChunkAt = 0;
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      if (chunks.length === 0) {
        firstChunkAt = performance.now();
        releasedBy ??= "client";
        release();
      }
      chunks.push(chunk);
    });
    await once(res, "end");
    expect(releasedBy).toBe("client");
    expect(firstChunkAt).toBeLessThan(upstreamFinishedAt);
    expect(chunks[0]).toBe("first-chunk;");
    expect(chunks.join("")).toBe("first-chunk;the-rest");
  });

  it("passes status, headers and a large binary body through unchanged", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const url = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(206, {
        "content-type": "application/octet-stream",
        "content-length": body.length,
        "content-range": `bytes 0-${body.length - 1}/${body.length + 100}`,
        etag: 'W/"xyz"',
        "x-multi": ["One", "two"],
      });
      res.end(body);
    });
    harness = await startHarness({ UPSTREAM_URL: url });
    const res = await fetch(`${harness.url}/provider/file`);
    expect(res.status).toBe(206);
    expect(res.headers.get("content-length")).toBe(String(body.length));
    expect(res.headers.get("content-range")).toBe(`bytes 0-${body.length - 1}/${body.length + 100}`);
    expect(res.headers.get("etag")).toBe('W/"xyz"');
    expect(res.headers.get("x-multi")).toBe("One, two");
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
  });

  it.each([200, 301, 404, 418, 501])(
    "passes a non-retryable %i through as the upstream sent it",
    async (status) => {
      const url = await startUpstream((req, res) => {
        req.resume();
        res.writeHead(status, {
          "x-from": "upstream",
          ...(status === 301 ? { location: "/elsewhere" } : {}),
        });
        res.end(`body of ${status}`);
      });
      harness = await startHarness({ UPSTREAM_URL: url });
      const res = await fetch(`${harness.url}/provider`, { redirect: "manual" });
      expect(res.status).toBe(status);
      expect(res.headers.get("x-from")).toBe("upstream");
      if (status === 301) expect(res.headers.get("location")).toBe("/elsewhere");
      expect(await res.text()).toBe(`body of ${status}`);
    },
  );
});

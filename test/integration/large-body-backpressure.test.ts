import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../support/sidecar-harness.js";

// docs/contract.md "Forwarding": a body over MAX_BODY_BYTES "is streamed upstream once ... never held whole in
// memory", and the final response is streamed to the client, not buffered. Proved by
// backpressure: while the upstream reads nothing, the client can only write what the socket
// buffers and the sidecar's one-MiB head hold, far less than the body; when the upstream starts
// reading, every byte arrives. A sidecar that buffered the body would take it all. The same the
// other way: a client that reads nothing stalls the upstream's answer.

const BODY_BYTES = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 7);

let upstream: Server | undefined;
let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  upstream = undefined;
});

describe("a body larger than MAX_BODY_BYTES", () => {
  it("is streamed with backpressure: a stalled upstream stalls the client, then every byte arrives", async () => {
    let startReading: () => void = () => {};
    const reading = new Promise<void>((resolve) => {
      startReading = resolve;
    });
    let received = 0;
    upstream = createServer((req, res) => {
      req.pause();
      void reading.then(() => {
        req.on("data", (chunk: Buffer) => {
          received += chunk.length;
        });
        req.on("end", () => {
          res.writeHead(201);
          res.end(String(received));
        });
        req.resume();
      });
    });
    await new Promise<void>((resolve) => upstream?.listen(0, "127.0.0.1", resolve));
    const port = (upstream.address() as AddressInfo).port;
    // The per-try timeout (time to response headers) is not under test: 256 MiB through two hops on a
    // loaded CI machine may take longer than the default 5 s (up to the request's 20 s deadline).
    harness = await startHarness({ UPSTREAM_URL: `http://127.0.0.1:${port}`, PER_TRY_TIMEOUT_MS: "20000" });

    let written = 0;
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${harness?.url}/provider`,
        { method: "POST", headers: { "content-length": String(BODY_BYTES) } },
        (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      const pump = () => {
        while (written < BODY_BYTES) {
          written += CHUNK.length;
          if (!req.write(CHUNK)) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });

    // Let the client push as hard as it can against an upstream that reads nothing.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const writtenWhileStalled = written;
    expect(writtenWhileStalled).toBeLessThan(BODY_BYTES / 4);

    startReading();
    expect(await answer).toEqual({ status: 201, body: String(BODY_BYTES) });
    expect(received).toBe(BODY_BYTES);
    expect(writtenWhileStalled).toBeGreaterThan(1024 * 1024); // it did stream past the replay head
  }, 30_000);
});

describe("a large response", () => {
  it("is streamed with backpressure: a client that reads nothing stalls the upstream, then every byte arrives", async () => {
    const RESPONSE_BYTES = 128 * 1024 * 1024;
    let sent = 0;
    upstream = createServer((_req, res) => {
      res.writeHead(200, { "content-length": String(RESPONSE_BYTES) });
      const pump = () => {
        while (sent < RESPONSE_BYTES) {
          sent += CHUNK.length;
          if (!res.write(CHUNK)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => upstream?.listen(0, "127.0.0.1", resolve));
    const port = (upstream.address() as AddressInfo).port;
    harness = await startHarness({ UPSTREAM_URL: `http://127.0.0.1:${port}` });

    let startReading: () => void = () => {};
    const reading = new Promise<void>((resolve) => {
      startReading = resolve;
    });
    const answer = new Promise<{ status: number; bytes: number }>((resolve, reject) => {
      const req = request(`${harness?.url}/provider`, { method: "GET" }, (res) => {
        res.pause();
        let bytes = 0;
        void reading.then(() => {
          res.on("data", (chunk: Buffer) => {
            bytes += chunk.length;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes }));
          res.resume();
        });
      });
      req.on("error", reject);
      req.end();
    });

    // The sidecar may hold what the sockets buffer, not the answer: the upstream stalls.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const sentWhileStalled = sent;
    expect(sentWhileStalled).toBeLessThan(RESPONSE_BYTES / 4);

    startReading();
    expect(await answer).toEqual({ status: 200, bytes: RESPONSE_BYTES });
  }, 30_000);
});

import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What the fake upstream does with one request. */
export type Behaviour =
  | {
      readonly status: number;
      readonly headers?: Record<string, string>;
      readonly body?: string;
      /** Wait this long before sending the headers (for per-try timeouts). */
      readonly delayMs?: number;
    }
  | { readonly reset: true };

/** One request as the upstream received it. */
export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly body: Buffer;
  readonly at: number;
}

export interface FakeUpstream {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** TCP connections accepted so far (a new connection per retry shows here). */
  readonly connections: number;
  /** TCP connections open now. */
  readonly openConnections: number;
  readonly received: Received[];
  /** Queue behaviours for the next requests; when the queue is empty, `fallback` answers. */
  script(...behaviours: Behaviour[]): void;
  fallback: Behaviour;
  /** Resolves once `count` requests have been received in full (rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  /**
   * Resolves when the response to request `index` (0-based, as in `received`) closes:
   * "answered" once sent in full, "aborted" when its connection closed first.
   */
  closed(index: number): Promise<"answered" | "aborted">;
  close(): Promise<void>;
}

export interface FakeUpstreamOptions {
  /** Loopback address to listen on (127.0.0.2, .3, ... stand for distinct backends). */
  readonly host?: string;
  /** 0 (default) picks a free port; several backends on distinct hosts can share one port. */
  readonly port?: number;
}

/**
 * A real HTTP server on 127.0.0.1 (or another loopback address) that answers from a script:
 * status, headers, body, a delay, or a connection reset. It records every request it got, so
 * tests can count attempts and compare what was forwarded byte for byte.
 */
export async function startFakeUpstream(
  fallback: Behaviour = { status: 200, body: "ok" },
  options: FakeUpstreamOptions = {},
): Promise<FakeUpstream> {
  const host = options.host ?? "127.0.0.1";
  let connections = 0;
  const queue: Behaviour[] = [];
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { fallback };
  const closings: Promise<"answered" | "aborted">[] = [];
  const waiters = new Set<{ count: number; resolve: () => void }>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      closings.push(
        new Promise((resolve) =>
          res.once("close", () => resolve(res.writableFinished ? "answered" : "aborted")),
        ),
      );
      received.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        at: Date.now(),
      });
      for (const waiter of waiters) if (received.length >= waiter.count) waiter.resolve();
      const behaviour = queue.shift() ?? state.fallback;
      if ("reset" in behaviour) {
        req.socket.resetAndDestroy();
        return;
      }
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(behaviour.status, behaviour.headers);
        res.end(behaviour.body ?? "");
      };
      if (behaviour.delayMs === undefined) answer();
      else {
        const timer = setTimeout(() => {
          timers.delete(timer);
          answer();
        }, behaviour.delayMs);
        timers.add(timer);
      }
    });
  });
  server.on("connection", (socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    host,
    port,
    get connections() {
      return connections;
    },
    get openConnections() {
      return sockets.size;
    },
    received,
    script: (...behaviours) => queue.push(...behaviours),
    get fallback() {
      return state.fallback;
    },
    set fallback(value: Behaviour) {
      state.fallback = value;
    },
    waitForRequests: (count, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        if (received.length >= count) return resolve();
        const waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`upstream got ${received.length} requests, not ${count}, within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      }),
    closed: (index) => {
      const closing = closings[index];
      if (closing === undefined) return Promise.reject(new Error(`no request ${index} received`));
      return closing;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

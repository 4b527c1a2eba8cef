import { type AddressInfo, createServer, type Server, type Socket } from "node:net";

/** One request as the raw upstream parsed it off the wire. */
export interface RawRequest {
  readonly method: string;
  readonly target: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  /** 1 for the first request on its connection, 2 for the next one on the same socket, ... */
  readonly onConnection: number;
  readonly connection: number;
}

/**
 * What the upstream does with one request: anything at all to the raw socket (answer, answer
 * half, reset, close, stay silent). `onRequest` behaviours run once the whole request is read.
 */
export type RawBehaviour = (socket: Socket, request: RawRequest) => void;

export interface RawUpstream {
  readonly port: number;
  readonly url: string;
  readonly requests: RawRequest[];
  /** Connections accepted so far. */
  connections: number;
  /** Behaviours for the next requests, in order; `fallback` once the queue is empty. */
  script(...behaviours: RawBehaviour[]): void;
  fallback: RawBehaviour;
  /** Runs on accept, before anything is read; return true to take the socket over. */
  onAccept: ((socket: Socket) => boolean) | undefined;
  /** Destroys every open socket and stops listening. */
  close(): Promise<void>;
  /** Listens again on the same port (a restarted upstream). */
  reopen(): Promise<void>;
}

/**
 * An HTTP/1.1 upstream written on net.Server, so that it can break the protocol on purpose:
 * the fault suites need resets, half answers and garbage that node:http would never send.
 * It understands requests with Content-Length (the sidecar always sends one for a buffered body).
 */
export async function startRawUpstream(fallback: RawBehaviour = answer(200, "ok")): Promise<RawUpstream> {
  const queue: RawBehaviour[] = [];
  const sockets = new Set<Socket>();
  let server: Server;
  const upstream: RawUpstream = {
    port: 0,
    url: "",
    requests: [],
    connections: 0,
    script: (...behaviours) => queue.push(...behaviours),
    fallback,
    onAccept: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
    reopen: () => listenOn(upstream.port),
  };

  function onConnection(socket: Socket): void {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    upstream.connections += 1;
    const connection = upstream.connections;
    if (upstream.onAccept?.(socket)) return;
    let buffered = Buffer.alloc(0);
    let count = 0;
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end === -1) return;
        const lines = buffered.subarray(0, end).toString("latin1").split("\r\n");
        const [method = "", target = ""] = (lines[0] ?? "").split(" ");
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(":");
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
        }
        const length = Number(headers["content-length"] ?? "0");
        if (buffered.length < end + 4 + length) return;
        const body = Buffer.from(buffered.subarray(end + 4, end + 4 + length));
        buffered = buffered.subarray(end + 4 + length);
        count += 1;
        const request = { method, target, headers, body, onConnection: count, connection };
        upstream.requests.push(request);
        (queue.shift() ?? upstream.fallback)(socket, request);
      }
    });
  }

  function listenOn(port: number): Promise<void> {
    server = createServer(onConnection);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        const address = server.address() as AddressInfo;
        Object.assign(upstream, { port: address.port, url: `http://127.0.0.1:${address.port}` });
        resolve();
      });
    });
  }
  await listenOn(0);
  return upstream;
}

/** A complete keep-alive answer with Content-Length. */
export function answer(status: number, body = "", headers: Record<string, string> = {}): RawBehaviour {
  return (socket) => {
    if (!socket.destroyed) socket.write(responseBytes(status, body, headers));
  };
}

export function responseBytes(status: number, body = "", headers: Record<string, string> = {}): string {
  const lines = [`HTTP/1.1 ${status} ${status < 300 ? "OK" : "Status"}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(`content-length: ${Buffer.byteLength(body)}`);
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}

/** TCP RST once the request has been read (the request reached the upstream). */
export const resetAfterRequest: RawBehaviour = (socket) => socket.resetAndDestroy();

/** A clean FIN with no answer at all. */
export const finWithoutResponse: RawBehaviour = (socket) => socket.end();

/** Never answers (the socket stays open until the test closes the upstream). */
export const hang: RawBehaviour = () => {};

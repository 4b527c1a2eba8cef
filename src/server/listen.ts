import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Slow-loris limits: how long a client may take to send its headers / its whole request. */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

// Node checks the two limits above only on this timer (its default is 30 s, which would let a
// slow-loris client hold a socket up to 30 s past headersTimeout).
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/** Starts a Node HTTP server and resolves with the port it got (PORT=0 picks a free one). */
export function listen(
  listener: RequestListener,
  options: ListenOptions,
): Promise<{ server: Server; port: number }> {
  const server = createServer(
    {
      // Node refuses a headersTimeout above requestTimeout (a short REQUEST_TIMEOUT_MS).
      headersTimeout: Math.min(options.headersTimeoutMs, options.requestTimeoutMs),
      requestTimeout: options.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_INTERVAL_MS, options.headersTimeoutMs),
      // Refuse requests with both Content-Length and Transfer-Encoding etc. (Node's default, stated).
      insecureHTTPParser: false,
    },
    listener,
  );
  server.on("connect", refuseTunnel);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}

/**
 * CONNECT asks for a tunnel (RFC 9110 §9.3.6). Node hands it to the "connect" event, never to the
 * request listener, and without a listener drops the socket unanswered: answer 405 instead.
 */
function refuseTunnel(_request: IncomingMessage, socket: Duplex): void {
  const body = JSON.stringify({
    error: "CONNECT is not supported: this is not a tunnel",
    reason: "connect_not_supported",
  });
  socket.on("error", () => {}); // the client may already be gone; nothing else listens here
  socket.end(
    "HTTP/1.1 405 Method Not Allowed\r\nallow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n" +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

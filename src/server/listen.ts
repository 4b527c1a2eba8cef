import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { randomRequestId } from "../runtime/request-ids.js";
import { createSocketReplies, type SocketReplies } from "./socket-replies.js";

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

/**
 * A request listener that may also answer the server's "connect", "clientError" and
 * "checkExpectation" events (the proxy's, which counts and logs them; proxy-app.ts). They ride on the listener so that whoever
 * wires the servers passes one thing.
 */
export type ServerListener = RequestListener &
  Partial<SocketReplies> & {
    /** It refuses an HTTP/1.1 request without Host itself (Node's own answer is a bare 400). */
    checksHost?: boolean;
    /** Its answer to an Expect other than 100-continue (Node's own is a bare 417). */
    checkExpectation?: RequestListener;
  };

// Without its own: CONNECT answered 405 JSON (Node would drop the socket unanswered), malformed
// requests left to Node's default (a bare 400, 408 or 431).
const UNCOUNTED = createSocketReplies({ newId: randomRequestId });

/** Starts a Node HTTP server and resolves with the port it got (PORT=0 picks a free one). */
export function listen(
  listener: ServerListener,
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
      requireHostHeader: listener.checksHost !== true,
    },
    listener,
  );
  server.on("connect", listener.connect ?? UNCOUNTED.connect);
  if (listener.clientError !== undefined) server.on("clientError", listener.clientError);
  if (listener.checkExpectation !== undefined) server.on("checkExpectation", listener.checkExpectation);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}

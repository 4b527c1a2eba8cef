import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";

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
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}

import type { ServerResponse } from "node:http";

/**
 * The answers the sidecar gives itself (everything else is the upstream's): a JSON body,
 * so that a client can tell them from the upstream's, and the request id.
 */
export function sendJson(
  outgoing: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string | number> = {},
): void {
  const text = JSON.stringify(body);
  outgoing.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  outgoing.end(text);
}

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { hopByHopNames } from "./hop-by-hop.js";

/**
 * The client's response headers: the upstream's end-to-end headers (hop-by-hop ones dropped,
 * RFC 9110 §7.6.1), plus the attempt count and the request id.
 */
export function buildClientHeaders(
  upstream: IncomingHttpHeaders,
  attempts: number,
  requestId: string,
): OutgoingHttpHeaders {
  const drop = hopByHopNames(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (drop.has(name)) continue;
    const value = upstream[name];
    if (value !== undefined) out[name] = value;
  }
  out["x-attempt-count"] = attempts;
  out["x-request-id"] = requestId;
  return out;
}

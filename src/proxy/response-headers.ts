import { statusLabel } from "../retry/outcome.js";
import { hopByHopNames } from "./hop-by-hop.js";

/**
 * The client's response headers as a flat [name, value, ...] list for `writeHead`: the
 * upstream's end-to-end headers in order and byte for byte (hop-by-hop ones dropped, RFC 9110
 * §7.6.1), plus the attempt count and the request id. The list is filtered in place and
 * returned (it is the attempt's own, made for this answer): no second list per response.
 */
export function buildClientHeaders(upstream: string[], attempts: number, requestId: string): string[] {
  // Most answers have one Connection header ("keep-alive"): a string, no list, for that one.
  let connection: string | string[] | undefined;
  for (let i = 0; i < upstream.length; i += 2) {
    const name = upstream[i] as string;
    if (name.length === 10 && name.toLowerCase() === "connection") {
      const value = upstream[i + 1] as string;
      if (connection === undefined) connection = value;
      else if (typeof connection === "string") connection = [connection, value];
      else connection.push(value);
    }
  }
  const drop = hopByHopNames(connection);
  let kept = 0;
  for (let i = 0; i < upstream.length; i += 2) {
    const name = upstream[i] as string;
    const lower = name.toLowerCase();
    if (drop.has(lower) || lower === "x-attempt-count" || lower === "x-request-id") continue; // ours
    upstream[kept] = name;
    upstream[kept + 1] = upstream[i + 1] as string;
    kept += 2;
  }
  upstream.length = kept;
  // statusLabel: the number's string, interned (at most 11 attempts).
  upstream.push("x-attempt-count", statusLabel(attempts), "x-request-id", requestId);
  return upstream;
}

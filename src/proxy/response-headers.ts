import { hopByHopNames } from "./hop-by-hop.js";

/**
 * The client's response headers as a flat [name, value, ...] list for `writeHead`: the
 * upstream's end-to-end headers in order and byte for byte (hop-by-hop ones dropped, RFC 9110
 * §7.6.1), plus the attempt count and the request id.
 */
export function buildClientHeaders(
  upstream: readonly string[],
  attempts: number,
  requestId: string,
): string[] {
  let connection: string[] | undefined;
  for (let i = 0; i < upstream.length; i += 2) {
    const name = upstream[i] as string;
    if (name.length === 10 && name.toLowerCase() === "connection") {
      connection ??= [];
      connection.push(upstream[i + 1] as string);
    }
  }
  const drop = hopByHopNames(connection);
  const out: string[] = [];
  for (let i = 0; i < upstream.length; i += 2) {
    const name = upstream[i] as string;
    const lower = name.toLowerCase();
    if (drop.has(lower) || lower === "x-attempt-count" || lower === "x-request-id") continue; // ours

    out.push(name, upstream[i + 1] as string);
  }
  out.push("x-attempt-count", String(attempts), "x-request-id", requestId);
  return out;
}

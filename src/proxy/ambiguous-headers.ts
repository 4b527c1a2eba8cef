import { hopByHopNames } from "./hop-by-hop.js";

// Framing and routing headers that must mean one thing to every hop. A name in the request that
// reads as one of them with "-" for "_" (Transfer_Encoding, Content_Length, HOST_) is not one to
// Node's parser, so the sidecar would forward it as an ordinary header, yet some servers (CGI and
// its heirs, some WSGI and PHP set-ups, nginx with underscores_in_headers) read "_" as "-": the
// upstream would frame or route the request differently from the sidecar (request smuggling).
// Transfer-Encoding is hop-by-hop; Host, Connection, TE, Trailer and Upgrade hold no "-", so no
// name with "_" can read as one of them.
const FRAMING = new Set(["content-length"]);

/**
 * The first header name holding `_` that reads as Transfer-Encoding, Content-Length, Host,
 * Connection or another hop-by-hop header (those Connection names included); undefined when none.
 * Most requests have no `_` in any header name: they cost one indexOf per header.
 */
export function findAmbiguousHeader(
  rawHeaders: readonly string[],
  connection: string | string[] | undefined,
): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.indexOf("_") === -1) continue;
    const read = name.toLowerCase().replaceAll("_", "-");
    if (FRAMING.has(read) || hopByHopNames(connection).has(read)) return name;
  }
  return undefined;
}

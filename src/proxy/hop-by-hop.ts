// RFC 9110 §7.6.1: a proxy removes the Connection header, every header it names, and the
// hop-by-hop headers Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding and Upgrade.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** The set of header names (lower case) not to forward, given the message's Connection value. */
export function hopByHopNames(connection: string | string[] | undefined): ReadonlySet<string> {
  if (connection === undefined) return HOP_BY_HOP;
  // Nearly every message says "keep-alive" or "close": no header to drop beyond the fixed ones,
  // and no new set for it.
  const single =
    typeof connection === "string" ? connection : connection.length === 1 ? connection[0] : undefined;
  if (single !== undefined && COMMON_TOKENS.has(single.toLowerCase())) return HOP_BY_HOP;
  const names = new Set(HOP_BY_HOP);
  for (const value of Array.isArray(connection) ? connection : [connection]) {
    for (const token of value.split(",")) {
      const name = token.trim().toLowerCase();
      if (name !== "") names.add(name);
    }
  }
  return names;
}

const COMMON_TOKENS = new Set(["keep-alive", "close"]);

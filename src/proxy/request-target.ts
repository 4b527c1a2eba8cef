/**
 * Checks the raw request target (the bytes after the method, not a normalised URL: Hono's
 * `c.req.path` resolves `..` and decodes, which would hide exactly what must be refused).
 * RFC 9112 §3.2: origin-form is what a client sends to a server; absolute-form is for proxies,
 * so one naming another host is a client treating the sidecar as an open proxy.
 */
export type TargetCheck =
  | { readonly ok: true; readonly path: string; readonly pathAndQuery: string }
  | {
      readonly ok: false;
      readonly message: string;
      /** The path as received, without its query (nor the scheme and authority of an absolute form): for the log. */
      readonly path: string;
    };

export function checkRequestTarget(rawTarget: string, ownAuthorities: ReadonlySet<string>): TargetCheck {
  let target = rawTarget;
  if (!target.startsWith("/")) {
    const absolute = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target);
    if (absolute === null) return refused("request target must be a path", target);
    // The authority is left out of what is logged: it may hold userinfo (credentials).
    if (!ownAuthorities.has((absolute[1] ?? "").toLowerCase())) {
      return refused("absolute-form request target for another host", absolute[2] ?? "");
    }
    target = absolute[2] === "" || absolute[2] === undefined ? "/" : absolute[2];
    if (!target.startsWith("/")) return refused("request target must be a path", target);
  }
  const path = withoutQuery(target);
  const unsafe = findUnsafePath(path);
  if (unsafe !== undefined) return { ok: false, message: unsafe, path };
  return { ok: true, path, pathAndQuery: target };
}

function refused(message: string, target: string): TargetCheck {
  return { ok: false, message, path: withoutQuery(target) };
}

// The query is left out of the log, as for forwarded requests: it may carry tokens.
function withoutQuery(target: string): string {
  const queryAt = target.indexOf("?");
  return queryAt === -1 ? target : target.slice(0, queryAt);
}

// RFC 3986 §3.3 / §6.2.2.2: "." and ".." segments, also percent-encoded (%2e), also hidden behind
// an encoded separator (%2f, "\"), also double-encoded (%252e): an upstream that decodes once
// more than we do must not be able to see one. Malformed percent-encoding (RFC 3986 §2.1) is
// refused too: what an upstream's decoder makes of it cannot be known.
const MALFORMED_PERCENT = /%(?![0-9a-fA-F]{2})/;
const PERCENT_BYTE = /%([0-9a-fA-F]{2})/g;

// Also a dot-segment to some upstream: "..;x" (servlet containers drop path parameters, RFC 3986
// §3.3, before resolving dots) and overlong UTF-8 dots (%c0%ae, %e0%80%ae: invalid per RFC 3629,
// decoded as "." by old servers), seen here as the bytes the percent-decoding below produces.
const OVERLONG_DOT = /\u00c0\u00ae|\u00e0\u0080\u00ae/g;

function isDotSegment(segment: string): boolean {
  const bare = segment.replace(OVERLONG_DOT, ".").split(";", 1)[0];
  return bare === "." || bare === "..";
}

// A path with none of ".", "%" and "\\" can hold no dot-segment in any encoding: the common case
// (/provider, /provider/42) is answered without splitting or decoding.
const MAYBE_UNSAFE = /[.%\\]/;

function findUnsafePath(path: string): string | undefined {
  if (!MAYBE_UNSAFE.test(path)) return undefined;
  let decoded = path;
  for (let round = 0; round < 4; round++) {
    if (decoded.split(/[/\\]/).some(isDotSegment)) {
      return "dot-segments are not allowed in the path";
    }
    if (!decoded.includes("%")) return undefined;
    // Only the raw path can be malformed: after a decode, a lone "%" is data ("100%25" → "100%").
    if (round === 0 && MALFORMED_PERCENT.test(decoded)) return "malformed percent-encoding in the path";
    // Byte-wise, not decodeURIComponent: a path may percent-encode bytes that are not UTF-8.
    const next = decoded.replace(PERCENT_BYTE, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    if (next === decoded) return undefined;
    decoded = next;
  }
  return "path is percent-encoded too many times"; // no legitimate path looks like that
}

/**
 * Checks the raw request target (the bytes after the method, not a normalised URL: Hono's
 * `c.req.path` resolves `..` and decodes, which would hide exactly what must be refused).
 * RFC 9112 §3.2: origin-form is what a client sends to a server; absolute-form is for proxies,
 * so one naming another host is a client treating the sidecar as an open proxy.
 */
export type TargetCheck =
  | { readonly ok: true; readonly path: string; readonly pathAndQuery: string }
  | { readonly ok: false; readonly message: string };

export function checkRequestTarget(rawTarget: string, ownAuthorities: ReadonlySet<string>): TargetCheck {
  let target = rawTarget;
  if (!target.startsWith("/")) {
    const absolute = /^https?:\/\/([^/?#]*)(.*)$/i.exec(target);
    if (absolute === null) return { ok: false, message: "request target must be a path" };
    if (!ownAuthorities.has((absolute[1] ?? "").toLowerCase())) {
      return { ok: false, message: "absolute-form request target for another host" };
    }
    target = absolute[2] === "" || absolute[2] === undefined ? "/" : absolute[2];
    if (!target.startsWith("/")) return { ok: false, message: "request target must be a path" };
  }
  const queryAt = target.indexOf("?");
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (hasDotSegment(path)) return { ok: false, message: "dot-segments are not allowed in the path" };
  return { ok: true, path, pathAndQuery: target };
}

// RFC 3986 §3.3 / §6.2.2.2: "." and ".." segments, also percent-encoded (%2e), also hidden behind
// an encoded separator (%2f, "\"), also double-encoded (%252e): an upstream that decodes once
// more than we do must not be able to see one.
function hasDotSegment(path: string): boolean {
  let decoded = path;
  for (let round = 0; round < 4; round++) {
    if (decoded.split(/[/\\]/).some((segment) => segment === "." || segment === "..")) return true;
    if (!decoded.includes("%")) return false;
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      // Not valid percent-encoding: decode what can be decoded so %2e is still seen.
      next = decoded.replace(/%2e/gi, ".").replace(/%2f/gi, "/").replace(/%5c/gi, "\\");
    }
    if (next === decoded) return false;
    decoded = next;
  }
  return true; // still encoded after four rounds: no legitimate path looks like that
}

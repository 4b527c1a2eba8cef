/**
 * A URL as text with the userinfo (`user:password@`) of its authority replaced, for an error line
 * about a value that is not a valid URL: `new URL` may not parse it, so this works on the text.
 * Each part that was there becomes REDACTED, as /config shows a valid URL's credentials.
 */
export function redactUserinfo(raw: string): string {
  // The authority: after "scheme://" (or from the start when there is none) up to "/", "?" or "#".
  const start = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(raw)?.[0].length ?? 0;
  const rest = raw.slice(start);
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  // RFC 3986 §3.2.1: the userinfo ends at the authority's last "@" (a password may hold one).
  const at = authority.lastIndexOf("@");
  if (at === -1) return raw;
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(":");
  const redacted =
    colon === -1 ? mask(userinfo) : `${mask(userinfo.slice(0, colon))}:${mask(userinfo.slice(colon + 1))}`;
  return raw.slice(0, start) + redacted + rest.slice(at);
}

function mask(part: string): string {
  return part === "" ? "" : "REDACTED";
}

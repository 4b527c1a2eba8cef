import { hopByHopNames } from "./hop-by-hop.js";

// Headers the sidecar sets itself, or that must not reach the upstream:
// - host: becomes the upstream's (RFC 9110 §7.2);
// - x-retry-max, x-attempt-count: the sidecar's own controls;
// - expect: the sidecar has the body already (and undici refuses to send Expect);
// - content-length: recomputed from the buffered body, or kept for a streamed one (below).
const SET_BY_SIDECAR = new Set([
  "host",
  "x-retry-max",
  "x-attempt-count",
  "expect",
  "content-length",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-request-id",
]);

export interface UpstreamHeaderInput {
  /** The client's headers as received: [name, value, name, value, ...], case kept. */
  readonly rawHeaders: readonly string[];
  readonly connection: string | string[] | undefined;
  readonly clientAddress: string | undefined;
  readonly upstreamHost: string;
  readonly requestId: string;
  /** The idempotency header to add, when the sidecar generated one. */
  readonly idempotency: readonly [name: string, value: string] | undefined;
  /** Content-Length to send: the buffered body's size, or the client's for a streamed body. */
  readonly contentLength: string | undefined;
}

/**
 * The headers of every upstream attempt but the attempt count, as a flat list: end-to-end
 * headers byte for byte and in order, hop-by-hop ones dropped, X-Forwarded-* and X-Request-Id set.
 */
export function buildUpstreamHeaders(input: UpstreamHeaderInput): string[] {
  const drop = hopByHopNames(input.connection);
  const out: string[] = ["host", input.upstreamHost];
  let forwardedFor: string | undefined;
  let forwardedProto: string | undefined;
  let forwardedHost: string | undefined;
  let clientHost: string | undefined;
  const raw = input.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (drop.has(lower)) continue;
    if (SET_BY_SIDECAR.has(lower)) {
      if (lower === "x-forwarded-for")
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
      else if (lower === "x-forwarded-proto") forwardedProto ??= value;
      else if (lower === "x-forwarded-host") forwardedHost ??= value;
      else if (lower === "host") clientHost ??= value;
      continue;
    }
    out.push(name, value);
  }
  // X-Forwarded-For gains the client's address; proto and host keep what an earlier proxy said.
  const address = input.clientAddress ?? "unknown";
  out.push("x-forwarded-for", forwardedFor === undefined ? address : `${forwardedFor}, ${address}`);
  out.push("x-forwarded-proto", forwardedProto ?? "http");
  if (forwardedHost !== undefined || clientHost !== undefined) {
    out.push("x-forwarded-host", (forwardedHost ?? clientHost) as string);
  }
  out.push("x-request-id", input.requestId);
  if (input.idempotency !== undefined) out.push(input.idempotency[0], input.idempotency[1]);
  if (input.contentLength !== undefined) out.push("content-length", input.contentLength);
  return out;
}

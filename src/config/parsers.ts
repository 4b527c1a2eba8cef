import { isIP } from "node:net";
import { z } from "zod";

// Each parser turns one environment string into a typed value, or fails with the phrase
// "expected ..." that the one-line startup error quotes. They are zod schemas so that the
// whole environment is validated by one `safeParse` and every failure names its variable.

type Ctx = z.core.$RefinementCtx<string>;

function fail(ctx: Ctx, expected: string): never {
  ctx.addIssue({ code: "custom", message: expected });
  return z.NEVER as never;
}

/** An integer in [min, max]; `what` describes the unit for the error message. */
export function integer(min: number, max: number, what = "integer") {
  return z.string().transform((raw, ctx) => {
    const text = raw.trim();
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || value < min || value > max) {
      return fail(ctx, `${what} from ${min} to ${max}`);
    }
    return value;
  });
}

/** A finite decimal number in [min, max]. */
export function decimal(min: number, max: number, what = "number") {
  return z.string().transform((raw, ctx) => {
    const text = raw.trim();
    const value = Number(text);
    if (text === "" || !Number.isFinite(value) || value < min || value > max) {
      return fail(ctx, `${what} from ${min} to ${max}`);
    }
    return value;
  });
}

/** `full`, or a jitter fraction in [0, 1]. */
export const jitter = z.string().transform((raw, ctx): number | "full" => {
  const text = raw.trim().toLowerCase();
  if (text === "full") return "full";
  const value = Number(text);
  if (text === "" || !Number.isFinite(value) || value < 0 || value > 1) {
    return fail(ctx, `a fraction from 0 to 1, or "full"`);
  }
  return value;
});

/** Base URL of the upstream: http or https, optional base path, no query or fragment. */
export const upstreamUrl = z.string().transform((raw, ctx) => {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return fail(ctx, "an absolute http:// or https:// URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return fail(ctx, "an absolute http:// or https:// URL");
  }
  if (url.search !== "" || url.hash !== "") return fail(ctx, "a base URL without query or fragment");
  // Port 0 means "any free port" to a listener; no connection can be made to it.
  if (url.port === "0") return fail(ctx, "a URL whose port is from 1 to 65535");
  return url.href.replace(/\/+$/, "");
});

/** A listen address: an IP literal or a host name. */
export const host = z.string().transform((raw, ctx) => {
  const text = raw.trim();
  if (isIP(text) !== 0 || /^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(text)) return text;
  return fail(ctx, "an IP address or host name");
});

/** Comma-separated path prefixes, each starting with `/`; a trailing `/` is dropped (`/` stays). */
export const routes = z.string().transform((raw, ctx) => {
  const parts = raw
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  const valid = (p: string) =>
    p.startsWith("/") && !/[?#\s%]/.test(p) && !p.split("/").some((seg) => seg === "." || seg === "..");
  if (parts.length === 0 || !parts.every(valid)) {
    return fail(ctx, "comma-separated path prefixes such as /provider,/invoices (no dot-segments)");
  }
  return [...new Set(parts.map((p) => (p === "/" ? p : p.replace(/\/+$/, ""))))];
});

/** Comma-separated HTTP status codes; only error statuses (400-599) can be retried. */
export const statusList = z.string().transform((raw, ctx) => {
  const parts = raw
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  const codes = parts.map(Number);
  if (!parts.every((p) => /^\d{3}$/.test(p)) || codes.some((c) => c < 400 || c > 599)) {
    return fail(ctx, "comma-separated HTTP status codes from 400 to 599");
  }
  return [...new Set(codes)].sort((a, b) => a - b);
});

/**
 * An HTTP header name (RFC 9110 §5.1 token), as given: /config shows what the operator set
 * (`Idempotency-Key`); the forwarder lower-cases it for its lookups. Empty turns the feature off.
 */
export const headerName = z.string().transform((raw, ctx) => {
  const text = raw.trim();
  if (text === "" || /^[!#$%&'*+.^_`|~0-9a-zA-Z-]+$/.test(text)) return text;
  return fail(ctx, "an HTTP header name (letters, digits, '-'), or empty to turn it off");
});

/**
 * Comma-separated DNS servers: `ip`, `ip:port`, `[ipv6]` or `[ipv6]:port` (a bare IPv6 address
 * too). Empty = the system resolver. The result is in the form dns.Resolver#setServers takes.
 */
export const dnsServers = z.string().transform((raw, ctx) => {
  const parts = raw
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
  const servers: string[] = [];
  for (const part of parts) {
    const server = dnsServer(part);
    if (server === undefined) {
      return fail(
        ctx,
        "comma-separated DNS servers: ip, ip:port or [ipv6]:port (empty = the system resolver)",
      );
    }
    servers.push(server);
  }
  return [...new Set(servers)];
});

function dnsServer(text: string): string | undefined {
  if (isIP(text) !== 0) return isIP(text) === 6 ? `[${text}]` : text;
  const match = /^(?:\[([^\]]+)\]|([0-9.]+))(?::(\d{1,5}))?$/.exec(text);
  if (match === null) return undefined;
  const v6 = match[1];
  const address = v6 ?? (match[2] as string);
  if (isIP(address) !== (v6 === undefined ? 4 : 6)) return undefined;
  const port = match[3];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return undefined;
  const host = v6 === undefined ? address : `[${address}]`;
  return port === undefined ? host : `${host}:${Number(port)}`;
}

export const logLevel = z.string().transform((raw, ctx) => {
  const text = raw.trim().toLowerCase();
  const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
  const found = levels.find((level) => level === text);
  return found ?? fail(ctx, `one of ${levels.join(", ")}`);
});

/** One of a fixed set of words (case-insensitive), such as `on`/`off`. */
export function oneOf<const T extends string>(words: readonly T[]) {
  return z.string().transform((raw, ctx): T => {
    const text = raw.trim().toLowerCase();
    const found = words.find((word) => word === text);
    return found ?? fail(ctx, `one of ${words.join(", ")}`);
  });
}

import { SidecarError } from "../errors/sidecar-error.js";
import type { FailureKind } from "../retry/outcome.js";

// Codes that mean "no connection was made": nothing reached the upstream.
const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);

// A certificate the sidecar does not trust will not be trusted on the next try either.
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_)|CERT|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED/;

function codeOf(error: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    // undici wraps the socket's error (UND_ERR_SOCKET, cause ECONNRESET); prefer the innermost code.
    const inner = (current as { cause?: unknown }).cause ?? (current as { errors?: unknown[] }).errors?.[0];
    if (!(inner instanceof Error) && typeof code === "string") return code;
    if (!(inner instanceof Error)) break;
    current = inner;
  }
  return String((error as { code?: unknown })?.code ?? "");
}

/** Maps a transport error to the failure kind of the retry policy and a SidecarError. */
export function classifyTransportError(error: unknown): {
  failure: FailureKind;
  retryable: boolean;
  error: SidecarError;
} {
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (CONNECT_CODES.has(code)) {
    return {
      failure: "connect_error",
      retryable: true,
      error: new SidecarError("UPSTREAM_CONNECT", `cannot connect to upstream (${code})`, { cause: error }),
    };
  }
  if (TLS_CODE.test(code)) {
    return {
      failure: "connect_error",
      retryable: false,
      error: new SidecarError("UPSTREAM_TLS", `upstream TLS handshake failed (${code}): ${message}`, {
        cause: error,
      }),
    };
  }
  return {
    failure: "reset",
    retryable: true,
    error: new SidecarError("UPSTREAM_RESET", `upstream connection failed (${code || "reset"}): ${message}`, {
      cause: error,
    }),
  };
}

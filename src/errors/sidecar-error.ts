/**
 * The one error type of the sidecar. `code` is stable (tests and logs match on it); `cause`
 * keeps the underlying error. Codes:
 * - CONFIG_INVALID: a setting failed validation (startup exits 2).
 * - UPSTREAM_TIMEOUT / UPSTREAM_CONNECT / UPSTREAM_RESET: an attempt got no response headers.
 * - UPSTREAM_TLS: the upstream's certificate is not trusted (not retried: a retry cannot fix it).
 * - UPSTREAM_DISCARDED: a retried answer's long body was cut off instead of read to the end.
 * - CLIENT_GONE: the client went away; its attempt in flight was cancelled.
 */
export type SidecarErrorCode =
  | "CONFIG_INVALID"
  | "UPSTREAM_TIMEOUT"
  | "UPSTREAM_CONNECT"
  | "UPSTREAM_RESET"
  | "UPSTREAM_TLS"
  | "UPSTREAM_DISCARDED"
  | "CLIENT_GONE";

export class SidecarError extends Error {
  readonly code: SidecarErrorCode;

  constructor(code: SidecarErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "SidecarError";
    this.code = code;
  }
}

import type { SidecarError } from "../errors/sidecar-error.js";
import type { AttemptOutcome } from "../retry/outcome.js";
import type { UpstreamAttempt } from "./upstream-attempt.js";

/** Where a final answer's body goes. Node's ServerResponse is one, with no adapter. */
export interface ResponseSink {
  write(chunk: Buffer): boolean;
  end(callback: () => void): unknown;
  once(event: "drain", listener: () => void): unknown;
  destroy(error?: Error): unknown;
}

/**
 * Told how forwarding a final body ended: the client left first, or the upstream body broke. A
 * callback, or an object with `forwarded` (the request's own state: no closure per request).
 */
export type Forwarded =
  | ((clientGone: boolean, error?: Error) => void)
  | { forwarded(clientGone: boolean, error?: Error): void };

/** An attempt that ended without response headers: the retry loop's view of it. */
export interface AttemptFailure {
  readonly outcome: AttemptOutcome & { readonly kind: "failure" };
  readonly response: undefined;
  readonly error: SidecarError;
  discard(): void;
}

/**
 * Told once how an attempt ended: its response headers are in (the attempt itself) or it failed.
 * The retry loop's run is one (../retry/retry-run.ts): an object, so no closure is made per attempt.
 */
export interface AttemptSettled {
  attemptEnded(result: UpstreamAttempt | AttemptFailure): void;
  /** At the per-try timeout, with no response headers: ms longer to wait for them (0: cut it). */
  waitLonger(): number;
}

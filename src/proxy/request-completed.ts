import type { StopReason } from "../retry/outcome.js";

/** What the forwarder reports once a client has its answer; metrics and logs subscribe. */
export interface RequestCompleted {
  readonly requestId: string;
  readonly route: string;
  readonly method: string;
  readonly path: string;
  /**
   * Status sent to the client; 499 when the client went away first (nginx's convention); 503
   * when shutdown cut the request off before its answer started, the status already sent when
   * it cut off the body.
   */
  readonly status: number;
  readonly attempts: number;
  readonly retries: number;
  readonly durationMs: number;
  /** Why retrying stopped; undefined for requests never offered to the retry loop (404, 400). */
  readonly stop: StopReason | undefined;
  /** The last outcome was retryable (so stop "exhausted" means retries were used up). */
  readonly retryable: boolean;
  /** The transport error behind a 502/504, for the log. */
  readonly error?: Error | undefined;
  /** The endpoint of the last attempt ("10.1.2.3:5002"); undefined when none was made. */
  readonly endpoint?: string | undefined;
  /** The `reason` of the JSON body when the sidecar answered itself (404, 400, 502, 503, 504). */
  readonly localReason?: string | undefined;
}

import type { RequestCompleted } from "../proxy/forward-request.js";

/** LOG_REQUESTS: which requests log "request completed". */
export type LogRequests = "retried" | "all" | "none";

/**
 * Whether a request's "request completed" line is written (docs/contract.md "Logs"). `retried`
 * keeps the lines an operator reads an incident by: more than one attempt, a status of 500 or
 * more, an answer the sidecar made itself, a client that left, retrying stopped early, or an error
 * (a body that broke off); the plain successes are counted by the metrics, not logged.
 */
export function logsCompleted(mode: LogRequests, event: RequestCompleted): boolean {
  if (mode === "all") return true;
  if (mode === "none") return false;
  return (
    event.attempts > 1 ||
    event.status >= 500 ||
    event.status === 499 ||
    event.localReason !== undefined ||
    (event.stop !== undefined && event.stop !== "not_retryable") ||
    event.error !== undefined
  );
}

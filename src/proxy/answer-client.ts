import type { ServerResponse } from "node:http";
import type { FailureKind } from "../retry/outcome.js";
import type { RetryResult } from "../retry/retry-loop.js";
import type { UpstreamAttempt } from "../upstream/upstream-client.js";
import { sendJson } from "./error-replies.js";
import { buildClientHeaders } from "./response-headers.js";

const FAILURE_TEXT: Record<FailureKind, string> = {
  timeout: "upstream sent no response headers in time",
  connect_error: "cannot connect to the upstream",
  reset: "upstream closed the connection without a response",
};

// Every answer of the sidecar that ends a forwarded request (502, 503, 504) has exactly the
// contract's body, {"error", "reason", "attempts"}, so a client can compare it whole; why retrying
// stopped (retryStopped) and the route are the log line's and the metrics' to say.

/** The fast 503 of an open circuit: nothing went upstream (or the circuit opened during a wait). */
export function answerCircuitOpen(
  outgoing: ServerResponse,
  retryAfterMs: number,
  requestId: string,
  attempts: number,
): void {
  sendJson(
    outgoing,
    503,
    { error: "circuit open: the upstream failed repeatedly", reason: "circuit_open", attempts },
    requestId,
    { "retry-after": Math.ceil(retryAfterMs / 1000), "x-attempt-count": attempts },
  );
}

/**
 * The 503 of a request that shutdown cut off before its answer started (the grace period ran
 * out): the client learns it may retry elsewhere instead of seeing its connection drop.
 */
export function answerShutdown(outgoing: ServerResponse, requestId: string, attempts: number): void {
  sendJson(
    outgoing,
    503,
    {
      error: "the sidecar is shutting down: the request outlasted the grace period",
      reason: "shutdown",
      attempts,
    },
    requestId,
    { "x-attempt-count": attempts },
  );
}

/**
 * The 503 of overload protection: the upstream is overloaded and this request was not sent
 * (`attempts` 0), or its retry was refused after the previous answer was dropped. Retry-After: 1,
 * since the limit regrows within about a second once the upstream answers in time.
 */
export function answerOverloaded(outgoing: ServerResponse, requestId: string, attempts: number): void {
  sendJson(outgoing, 503, { error: "upstream overloaded", reason: "overloaded", attempts }, requestId, {
    "retry-after": 1,
    "x-attempt-count": attempts,
  });
}

/**
 * Told how the answer ended: `answered` with the status the client got (499: it left first) and
 * the error behind it, or, for the upstream's streamed answer, `forwarded` (upstream-attempt.ts).
 * An object, so that the request's own state receives it without a closure.
 */
export interface Answered {
  answered(status: number, error?: Error): void;
  forwarded(clientGone: boolean, error?: Error): void;
}

/**
 * Gives the client the retry loop's final word: the upstream's response streamed through, or the
 * sidecar's own 502/504 when there was none. `answered` is told once, when the client has it all.
 */
export function answerClient(
  outgoing: ServerResponse,
  result: RetryResult<UpstreamAttempt>,
  requestId: string,
  answered: Answered,
): void {
  const last = result.last;
  if (last === undefined) {
    answered.answered(499); // the client left: no one to answer
    return;
  }
  const response = last.response;
  if (response === undefined) {
    const failure = last.outcome.kind === "failure" ? last.outcome.failure : "reset";
    const status = failure === "timeout" ? 504 : 502;
    sendJson(
      outgoing,
      status,
      { error: FAILURE_TEXT[failure], reason: failure, attempts: result.attempts },
      requestId,
      { "x-attempt-count": result.attempts },
    );
    answered.answered(status, last.error);
    return;
  }

  outgoing.writeHead(response.status, buildClientHeaders(response.headers, result.attempts, requestId));
  // A body that breaks while the client is still there is the upstream's failure, not the
  // client's: like nginx, `forwarded` counts the status that was sent and logs the error (499 is
  // for clients that went away first).
  response.forwardTo(outgoing, answered);
}

import type { IncomingMessage, ServerResponse } from "node:http";
import type { CircuitBreaker } from "../retry/circuit-breaker.js";
import type { Clock } from "../retry/clock.js";
import type { FailureKind, StopReason } from "../retry/outcome.js";
import { type Attempt, type RetryDeps, type RetryPolicy, runWithRetries } from "../retry/retry-loop.js";
import {
  isFailure,
  type UpstreamClient,
  type UpstreamRequest,
  type UpstreamResponse,
} from "../upstream/upstream-client.js";
import { sendJson } from "./error-replies.js";
import type { InFlight } from "./in-flight.js";
import { pipeResponse } from "./pipe-response.js";
import type { RequestBody } from "./request-body.js";
import { readRequestBody } from "./request-body.js";
import { buildClientHeaders } from "./response-headers.js";
import { buildUpstreamHeaders } from "./upstream-headers.js";

/** What the forwarder reports once a client has its answer; metrics and logs subscribe. */
export interface RequestCompleted {
  readonly requestId: string;
  readonly route: string;
  readonly method: string;
  readonly path: string;
  /** Status sent to the client; 499 when the client went away first (nginx's convention). */
  readonly status: number;
  readonly attempts: number;
  readonly retries: number;
  readonly durationMs: number;
  /** Why retrying stopped; undefined for answers that never went upstream (circuit open). */
  readonly stop: StopReason | undefined;
  /** The last outcome was retryable (so stop "exhausted" means retries were used up). */
  readonly retryable: boolean;
  /** The transport error behind a 502/504, for the log. */
  readonly error?: Error | undefined;
}

export interface ForwardSettings {
  readonly maxRetries: number;
  readonly requestTimeoutMs: number;
  readonly maxBodyBytes: number;
  /** Lower-case header name, or "" when the feature is off. */
  readonly idempotencyHeader: string;
}

export interface ForwardDeps {
  readonly settings: ForwardSettings;
  readonly policy: RetryPolicy;
  readonly retry: RetryDeps;
  readonly upstream: UpstreamClient;
  readonly breakerFor: (route: string) => CircuitBreaker;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly inFlight: InFlight;
  readonly completed: (event: RequestCompleted) => void;
}

/** One matched request, after the target check. */
export interface ForwardTarget {
  readonly route: string;
  readonly path: string;
  readonly pathAndQuery: string;
  readonly startedAt: number;
}

const NON_IDEMPOTENT = new Set(["POST", "PATCH"]); // RFC 9110 §9.2.2: the methods a retry may repeat

/**
 * Forwards one client request: admission by the route's breaker, body buffering, the retry
 * loop, and streaming the final answer back. Mechanism only: every decision is in retry/.
 */
export async function forwardRequest(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  target: ForwardTarget,
  deps: ForwardDeps,
): Promise<void> {
  const { route, startedAt } = target;
  const method = incoming.method ?? "GET";
  const headers = incoming.headers;
  const requestIdHeader = headers["x-request-id"];
  const requestId =
    typeof requestIdHeader === "string" && requestIdHeader !== "" ? requestIdHeader : deps.newId();
  const done = (status: number, extra: Partial<RequestCompleted> = {}) =>
    deps.completed({
      requestId,
      route,
      method,
      path: target.path,
      status,
      attempts: 0,
      retries: 0,
      durationMs: deps.clock() - startedAt,
      stop: undefined,
      retryable: false,
      ...extra,
    });

  const breaker = deps.breakerFor(route);
  const admission = breaker.admit();
  if (!admission.admitted) {
    const seconds = Math.ceil(admission.retryAfterMs / 1000);
    incoming.resume();
    sendJson(
      outgoing,
      503,
      { error: CIRCUIT_OPEN_TEXT, reason: "circuit_open", route, attempts: 0 },
      { "retry-after": seconds, "x-request-id": requestId, "x-attempt-count": 0 },
    );
    done(503);
    return;
  }
  deps.retry.budget.deposit();

  const controller = new AbortController();
  const release = deps.inFlight.add(controller);
  outgoing.once("close", () => {
    if (!outgoing.writableFinished) controller.abort();
  });

  let body: RequestBody;
  try {
    body = await readRequestBody(incoming, deps.settings.maxBodyBytes);
  } catch {
    // The client went away (or broke the framing) while sending its body: nothing to answer.
    if (admission.probe) breaker.releaseProbe();
    release();
    done(499, { stop: "client_gone" });
    return;
  }

  const idempotencyName = deps.settings.idempotencyHeader;
  const needsKey =
    idempotencyName !== "" && NON_IDEMPOTENT.has(method) && headers[idempotencyName] === undefined;
  const baseHeaders = buildUpstreamHeaders({
    rawHeaders: incoming.rawHeaders,
    connection: headers.connection,
    clientAddress: incoming.socket.remoteAddress,
    upstreamHost: deps.upstream.host,
    requestId,
    idempotency: needsKey ? [idempotencyName, deps.newId()] : undefined,
    contentLength: body.replayable ? String(body.bytes?.length ?? 0) : headers["content-length"],
  });
  const upstreamRequest = (attempt: number): UpstreamRequest => ({
    method,
    pathAndQuery: target.pathAndQuery,
    headers: [...baseHeaders, "x-attempt-count", String(attempt)],
    body: body.replayable ? body.bytes : body.stream,
  });
  const hasBody = body.replayable ? body.bytes !== null : true;

  const send = async (attempt: number, timeoutMs: number): Promise<Attempt<UpstreamResponse>> => {
    const result = await deps.upstream.send(upstreamRequest(attempt), timeoutMs, controller.signal);
    if (isFailure(result)) {
      return {
        outcome: { kind: "failure", failure: result.failure, retryable: result.retryable },
        response: undefined,
        error: result.error,
        discard: noop,
      };
    }
    const retryAfter = result.headers["retry-after"];
    return {
      outcome: {
        kind: "response",
        status: result.status,
        retryAfter: typeof retryAfter === "string" ? retryAfter : undefined,
      },
      response: result,
      discard: result.discard,
    };
  };

  const result = await runWithRetries(
    {
      route,
      requestId,
      maxRetries: retryLimit(headers["x-retry-max"], deps.settings.maxRetries),
      // A request without a body is always replayable; a streamed one never is.
      replayable: body.replayable || !hasBody,
      deadlineAt: startedAt + deps.settings.requestTimeoutMs,
      signal: controller.signal,
      breaker,
      isProbe: admission.probe,
    },
    send,
    deps.policy,
    deps.retry,
  );
  const summary = {
    attempts: result.attempts,
    retries: result.retries,
    stop: result.stop,
    retryable: result.retryable,
  };
  const last = result.last;

  if (last === undefined && result.stop === "circuit_open") {
    // The circuit opened while this request waited to retry: the circuit's own answer.
    sendJson(
      outgoing,
      503,
      { error: CIRCUIT_OPEN_TEXT, reason: "circuit_open", route, attempts: result.attempts },
      {
        "retry-after": Math.ceil(breaker.retryAfterMs() / 1000),
        "x-request-id": requestId,
        "x-attempt-count": result.attempts,
      },
    );
    release();
    done(503, summary);
    return;
  }
  if (last === undefined) {
    release();
    done(499, summary);
    return;
  }
  const response = last.response;
  if (response === undefined) {
    const failure = last.outcome.kind === "failure" ? last.outcome.failure : "reset";
    const status = failure === "timeout" ? 504 : 502;
    sendJson(
      outgoing,
      status,
      {
        error: FAILURE_TEXT[failure],
        reason: failure,
        attempts: result.attempts,
        retry_stopped: result.stop,
      },
      { "x-request-id": requestId, "x-attempt-count": result.attempts },
    );
    release();
    done(status, { ...summary, error: last.error });
    return;
  }

  outgoing.writeHead(response.status, buildClientHeaders(response.headers, result.attempts, requestId));
  // A body that breaks while the client is still there is the upstream's failure, not the
  // client's: like nginx, count the status that was sent and log the error (499 is for clients
  // that went away first, which abort `controller` before the body errors).
  let bodyError: Error | undefined;
  response.body.once("error", (error: Error) => {
    if (!controller.signal.aborted) bodyError = error;
  });
  pipeResponse(response.body, outgoing, (error) => {
    release();
    const clientGone = error !== undefined && !outgoing.writableFinished && bodyError === undefined;
    done(
      clientGone ? 499 : response.status,
      bodyError === undefined ? summary : { ...summary, error: bodyError },
    );
  });
}

const CIRCUIT_OPEN_TEXT = "circuit open: the upstream failed repeatedly";

const FAILURE_TEXT: Record<FailureKind, string> = {
  timeout: "upstream sent no response headers in time",
  connect_error: "cannot connect to the upstream",
  reset: "upstream closed the connection without a response",
};

function noop(): void {}

/** x-retry-max: lowers this request's retries (0..MAX_RETRIES); a larger value counts as the maximum. */
export function retryLimit(header: string | string[] | undefined, maxRetries: number): number {
  if (typeof header !== "string" || !/^\s*\d+\s*$/.test(header)) return maxRetries;
  return Math.min(Number(header), maxRetries);
}

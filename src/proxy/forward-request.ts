import type { IncomingMessage, ServerResponse } from "node:http";
import type { EndpointSet } from "../endpoints/endpoint-set.js";
import type { OverloadProtection } from "../overload/overload-protection.js";
import { ShutdownAbort } from "../retry/abort-cause.js";
import { admitRequest, OVERLOADED } from "../retry/admit-request.js";
import type { CircuitBreaker } from "../retry/circuit-breaker.js";
import type { Clock } from "../retry/clock.js";
import { type RetryDeps, type RetryPolicy, type RetryResult, runWithRetries } from "../retry/retry-loop.js";
import type { UpstreamClient } from "../upstream/upstream-client.js";
import { answerCircuitOpen, answerClient, answerOverloaded, answerShutdown } from "./answer-client.js";
import { createAttemptSender } from "./attempt-sender.js";
import { ClientGone } from "./client-gone.js";
import { localReasonOf } from "./error-replies.js";
import type { InFlight } from "./in-flight.js";
import { type RequestBody, readRequestBody } from "./request-body.js";
import type { RequestCompleted } from "./request-completed.js";
import { retryLimit } from "./retry-limit.js";
import { buildUpstreamHeaders } from "./upstream-headers.js";

// The event a request ends with: its own file, since metrics and logs import it too.
export type { RequestCompleted } from "./request-completed.js";

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
  readonly endpoints: EndpointSet;
  readonly breakerFor: (route: string) => CircuitBreaker;
  /** The upstream's overload protection; the same object the retry loop asks (retry.overload). */
  readonly overload: OverloadProtection;
  readonly clock: Clock;
  readonly newId: () => string;
  readonly inFlight: InFlight;
  readonly completed: (event: RequestCompleted) => void;
}

/** One matched request, after the target check. */
export interface ForwardTarget {
  /** The client's X-Request-Id, or one generated for it (see request-id.ts). */
  readonly requestId: string;
  readonly route: string;
  readonly path: string;
  readonly pathAndQuery: string;
  readonly startedAt: number;
}

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
  const route = target.route;
  const method = incoming.method ?? "GET";
  const headers = incoming.headers;
  const requestId = target.requestId;

  const breaker = deps.breakerFor(route);
  // An admitted request holds a place among the attempts in flight, given back by the retry loop
  // when its first attempt ends (or below, when it never gets there).
  const admission = admitRequest(breaker, deps.retry.budget, deps.retry.throttle, deps.overload);
  if (!admission.admitted) {
    incoming.resume();
    if (admission === OVERLOADED) {
      answerOverloaded(outgoing, requestId, 0);
      report(deps, outgoing, target, method, 503, SHED);
    } else {
      answerCircuitOpen(outgoing, route, admission.retryAfterMs, requestId, 0);
      report(deps, outgoing, target, method, 503, CIRCUIT_REFUSED);
    }
    return;
  }

  const controller = new ClientGone();
  const release = deps.inFlight.add(controller);
  watchClient(outgoing, controller);

  let body: RequestBody;
  try {
    body = await readRequestBody(incoming, deps.settings.maxBodyBytes);
  } catch {
    // The client went away (or broke the framing) while sending its body: nothing to answer.
    if (admission.probe) breaker.releaseProbe();
    deps.overload.release();
    release();
    report(deps, outgoing, target, method, 499, CLIENT_LEFT_EARLY);
    return;
  }

  const idempotencyName = deps.settings.idempotencyHeader;
  const needsKey =
    idempotencyName !== "" && NON_IDEMPOTENT.has(method) && headers[idempotencyName] === undefined;
  let looping = false;
  try {
    const baseHeaders = buildUpstreamHeaders({
      rawHeaders: incoming.rawHeaders,
      connection: headers.connection,
      clientAddress: incoming.socket.remoteAddress,
      upstreamHost: deps.upstream.host,
      requestId,
      idempotency: needsKey ? [idempotencyName, deps.newId()] : undefined,
      contentLength: body.replayable ? String(body.bytes?.length ?? 0) : headers["content-length"],
    });
    const send = createAttemptSender(
      deps.upstream,
      deps.endpoints,
      { method, pathAndQuery: target.pathAndQuery, headers: baseHeaders, body },
      controller.signal,
    );
    looping = true;
    const result = await runWithRetries(
      {
        route,
        requestId,
        maxRetries: retryLimit(headers["x-retry-max"], deps.settings.maxRetries),
        // A request without a body is always replayable; a streamed one never is.
        replayable: body.replayable,
        // With IDEMPOTENCY_HEADER set, every POST/PATCH carries a key (its own or a generated one).
        idempotent: idempotencyName !== "" || !NON_IDEMPOTENT.has(method),
        deadlineAt: target.startedAt + deps.settings.requestTimeoutMs,
        signal: controller.signal,
        breaker,
        isProbe: admission.probe,
      },
      send,
      deps.policy,
      deps.retry,
    );
    if (result.last === undefined && result.stop === "circuit_open") {
      // The circuit opened while this request waited to retry: the circuit's own answer.
      answerCircuitOpen(outgoing, route, breaker.retryAfterMs(), requestId, result.attempts);
      release();
      report(deps, outgoing, target, method, 503, result, undefined, send.target);
      return;
    }
    if (result.stop === "shutdown") {
      answerShutdown(outgoing, requestId, result.attempts);
      release();
      report(deps, outgoing, target, method, 503, result, undefined, send.target);
      return;
    }
    if (result.last === undefined && result.stop === "overloaded") {
      // Overload protection refused the retry after its wait, and the response was dropped before it.
      answerOverloaded(outgoing, requestId, result.attempts);
      release();
      report(deps, outgoing, target, method, 503, result, undefined, send.target);
      return;
    }
    answerClient(outgoing, result, requestId, (status, error) => {
      release();
      // Shutdown may cut the upstream's body off while it streams: the status stays the one sent.
      const cut = controller.reason instanceof ShutdownAbort;
      report(
        deps,
        outgoing,
        target,
        method,
        status,
        cut ? { ...result, stop: "shutdown" } : result,
        error,
        send.target,
      );
    });
  } catch (error) {
    // A bug below must not hold shutdown for the whole grace period, nor keep the route's
    // half-open probe taken (every later request would get the circuit's 503).
    release();
    if (admission.probe) breaker.releaseProbe();
    if (!looping) deps.overload.release();
    throw error;
  }
}

/** What the retry loop came to, as far as the report needs it. */
type Summary = Pick<RetryResult<unknown>, "attempts" | "retries" | "stop" | "retryable">;

const CLIENT_LEFT_EARLY: Summary = { attempts: 0, retries: 0, stop: "client_gone", retryable: false };
const CIRCUIT_REFUSED: Summary = { attempts: 0, retries: 0, stop: "circuit_open", retryable: false };
/** Shed by overload protection: answered 503 without an attempt. */
const SHED: Summary = { attempts: 0, retries: 0, stop: "overloaded", retryable: false };

/** Tells the subscribers (metrics, logs) how a request ended: one object per request. */
function report(
  deps: ForwardDeps,
  outgoing: ServerResponse,
  target: ForwardTarget,
  method: string,
  status: number,
  summary: Summary | undefined,
  error?: Error,
  endpoint?: string,
): void {
  deps.completed({
    requestId: target.requestId,
    route: target.route,
    method,
    path: target.path,
    status,
    attempts: summary?.attempts ?? 0,
    retries: summary?.retries ?? 0,
    durationMs: deps.clock() - target.startedAt,
    stop: summary?.stop,
    retryable: summary?.retryable ?? false,
    error,
    endpoint,
    localReason: localReasonOf(outgoing),
  });
}

// The client's response closing before it was finished means the client went away. One shared
// listener (the request's switch rides on the response) instead of a closure and a once-wrapper
// per request.
const CLIENT_SWITCH = Symbol("retry-sidecar.clientGone");
type Watched = ServerResponse & { [CLIENT_SWITCH]?: ClientGone };

function watchClient(outgoing: ServerResponse, controller: ClientGone): void {
  (outgoing as Watched)[CLIENT_SWITCH] = controller;
  outgoing.on("close", onResponseClose);
}

function onResponseClose(this: Watched): void {
  if (!this.writableFinished) this[CLIENT_SWITCH]?.abort();
}

const NON_IDEMPOTENT = new Set(["POST", "PATCH"]); // RFC 9110 §9.2.2: the methods a retry may repeat

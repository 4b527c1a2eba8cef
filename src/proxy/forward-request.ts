import type { IncomingMessage, ServerResponse } from "node:http";
import type { EndpointSet } from "../endpoints/endpoint-set.js";
import type { OverloadProtection } from "../overload/overload-protection.js";
import { admitRequest, OVERLOADED } from "../retry/admit-request.js";
import type { Clock } from "../retry/clock.js";
import type { RetryDeps, RetryPolicy } from "../retry/retry-loop.js";
import type { RouteGuards } from "../retry/route-guards.js";
import type { UpstreamClient } from "../upstream/upstream-client.js";
import { answerCircuitOpen, answerOverloaded } from "./answer-client.js";
import type { ClientGone } from "./client-gone.js";
import { localReasonOf } from "./error-replies.js";
import { Exchange, type ForwardBroke } from "./exchange.js";
import type { InFlight } from "./in-flight.js";
import { readRequestBody } from "./request-body.js";
import type { RequestCompleted } from "./request-completed.js";

export type { BrokenRequest, ForwardBroke } from "./exchange.js";
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
  /** The route's own breaker and retry budget. */
  readonly guardsFor: (route: string) => RouteGuards;
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
 * Forwards one client request: admission by the route's breaker and overload protection, then
 * the exchange (exchange.ts): body buffering, the retry loop, and streaming the final answer back.
 * Mechanism only: every decision is in retry/. It returns at once; `broke` is told of a bug.
 */
export function forwardRequest(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  target: ForwardTarget,
  deps: ForwardDeps,
  broke: ForwardBroke,
): void {
  const route = target.route;
  const requestId = target.requestId;
  try {
    const guards = deps.guardsFor(route);
    // An admitted request holds a place among the attempts in flight, given back by the retry loop
    // when its first attempt ends (or by the exchange, when it never gets there).
    const admission = admitRequest(guards.breaker, guards.budget, deps.retry.throttle, deps.overload);
    if (!admission.admitted) {
      incoming.resume();
      const refused = admission === OVERLOADED ? SHED : CIRCUIT_REFUSED;
      if (admission === OVERLOADED) answerOverloaded(outgoing, requestId, 0);
      else answerCircuitOpen(outgoing, admission.retryAfterMs, requestId, 0);
      deps.completed({
        requestId,
        route,
        method: incoming.method ?? "GET",
        path: target.path,
        status: 503,
        ...refused,
        durationMs: deps.clock() - target.startedAt,
        localReason: localReasonOf(outgoing),
      });
      return;
    }
    const exchange = new Exchange(incoming, outgoing, target, deps, guards, admission.probe, broke);
    deps.inFlight.add(exchange);
    watchClient(outgoing, exchange);
    readRequestBody(incoming, deps.settings.maxBodyBytes, exchange);
  } catch (error) {
    const { path, startedAt } = target;
    const method = incoming.method ?? "GET";
    broke(error, outgoing, { requestId, route, method, path, startedAt, attempts: 0, retries: 0 });
  }
}

const CIRCUIT_REFUSED = { attempts: 0, retries: 0, stop: "circuit_open", retryable: false } as const;
/** Shed by overload protection: answered 503 without an attempt. */
const SHED = { attempts: 0, retries: 0, stop: "overloaded", retryable: false } as const;

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
  this[CLIENT_SWITCH] = undefined;
}

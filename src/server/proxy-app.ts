import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../observability/logger.js";
import { findAmbiguousHeader } from "../proxy/ambiguous-headers.js";
import { localReasonOf, sendJson } from "../proxy/error-replies.js";
import { type ForwardBroke, type ForwardDeps, forwardRequest } from "../proxy/forward-request.js";
import { requestIdOf } from "../proxy/request-id.js";
import { checkRequestTarget } from "../proxy/request-target.js";
import { createRouteMatcher } from "../proxy/route-match.js";

export interface ProxyAppOptions {
  readonly routes: readonly string[];
  /** host[:port] values under which an absolute-form target still means "this sidecar". */
  readonly ownAuthorities: ReadonlySet<string>;
  readonly forward: ForwardDeps;
  readonly logger: Logger;
}

/** A Node request listener. */
export type RequestHandler = (incoming: IncomingMessage, outgoing: ServerResponse) => void;

/**
 * The proxy port's request handler: refuse unsafe targets and ambiguous headers (400) and unknown
 * routes (404) with a JSON body, hand everything else to the forwarder. It is a plain Node request listener, not a
 * Hono app (the admin port is one): every proxied request would otherwise pay for a Web Request,
 * a Context and a router match it does not need, since routes are path prefixes and the
 * forwarder works on Node's own request and response (bench/README.md measures the difference).
 */
export function createProxyApp(options: ProxyAppOptions): RequestHandler {
  const matchRoute = createRouteMatcher(options.routes);
  const { forward, logger } = options;
  // A bug, not an upstream failure: answer if we still can, never crash the process. The 500 is
  // counted and logged like every answer the sidecar makes itself (an answer already started
  // was reported, or is cut off: its client sees the connection close).
  const broke: ForwardBroke = (error, outgoing, request) => {
    const { route, requestId } = request;
    logger.error({ err: error, route, reqId: requestId }, "forwarding failed");
    if (outgoing.headersSent) {
      outgoing.destroy();
      return;
    }
    sendJson(outgoing, 500, { error: "internal error in retry-sidecar", reason: "internal" }, requestId);
    const { method, path, attempts, retries, endpoint } = request;
    const durationMs = forward.clock() - request.startedAt;
    const localReason = localReasonOf(outgoing);
    try {
      forward.completed({
        requestId,
        route,
        method,
        path,
        status: 500,
        attempts,
        retries,
        durationMs,
        stop: undefined,
        retryable: false,
        endpoint,
        localReason,
        error: error instanceof Error ? error : undefined,
      });
    } catch (subscriberError) {
      logger.error({ err: subscriberError, route, reqId: requestId }, "forwarding failed");
    }
  };

  const refuse = (
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    status: 400 | 404,
    message: string,
    reason: string,
    requestId: string,
    startedAt: number,
    path = "",
  ): void => {
    incoming.resume(); // the body is not wanted; let it drain so the connection stays usable
    sendJson(outgoing, status, { error: message, reason }, requestId);
    forward.completed({
      requestId,
      route: "none",
      method: incoming.method ?? "",
      path,
      status,
      attempts: 0,
      retries: 0,
      durationMs: forward.clock() - startedAt,
      stop: undefined,
      retryable: false,
      localReason: reason,
    });
  };

  return (incoming, outgoing) => {
    const startedAt = forward.clock();
    const requestId = requestIdOf(incoming.headers["x-request-id"], forward.newId);
    const target = checkRequestTarget(incoming.url ?? "", options.ownAuthorities);
    if (!target.ok) {
      return refuse(incoming, outgoing, 400, target.message, "bad_request", requestId, startedAt);
    }
    const ambiguous = findAmbiguousHeader(incoming.rawHeaders, incoming.headers.connection);
    if (ambiguous !== undefined) {
      const message = `header ${JSON.stringify(ambiguous)} reads as ${ambiguous.replaceAll("_", "-")} to some servers`;
      return refuse(incoming, outgoing, 400, message, "ambiguous_header", requestId, startedAt, target.path);
    }
    const route = matchRoute(target.path);
    if (route === undefined) {
      return refuse(
        incoming,
        outgoing,
        404,
        "no route forwards this path",
        "no_route",
        requestId,
        startedAt,
        target.path,
      );
    }
    forwardRequest(
      incoming,
      outgoing,
      { requestId, route, path: target.path, pathAndQuery: target.pathAndQuery, startedAt },
      forward,
      broke,
    );
  };
}

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../observability/logger.js";
import { findAmbiguousHeader } from "../proxy/ambiguous-headers.js";
import { localReasonOf, sendJson } from "../proxy/error-replies.js";
import { type ForwardBroke, type ForwardDeps, forwardRequest } from "../proxy/forward-request.js";
import { requestIdOf } from "../proxy/request-id.js";
import { checkRequestTarget } from "../proxy/request-target.js";
import { createRouteMatcher } from "../proxy/route-match.js";
import { createSocketReplies, type SocketReplies } from "./socket-replies.js";

export interface ProxyAppOptions {
  readonly routes: readonly string[];
  /** host[:port] values under which an absolute-form target still means "this sidecar". */
  readonly ownAuthorities: ReadonlySet<string>;
  readonly forward: ForwardDeps;
  readonly logger: Logger;
}

/** A request the router answers itself, and how it is counted and logged. */
interface Refusal {
  readonly status: 400 | 404 | 417;
  readonly reason: string;
  readonly message: string;
  /** The matched route prefix, or "none". */
  readonly route: string;
  /** The path as received, without its query. */
  readonly path: string;
}

const NO_ROUTE = "no route forwards this path";

type NodeRequestListener = (incoming: IncomingMessage, outgoing: ServerResponse) => void;

/** A Node request listener, with the proxy's answers to CONNECT and malformed requests. */
export type RequestHandler = NodeRequestListener &
  SocketReplies & {
    /** The server's "checkExpectation" event: an Expect other than 100-continue. */
    readonly checkExpectation: NodeRequestListener;
  };

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
    refusal: Refusal,
    requestId: string,
    startedAt: number,
  ): void => {
    incoming.resume(); // the body is not wanted; let it drain so the connection stays usable
    sendJson(outgoing, refusal.status, { error: refusal.message, reason: refusal.reason }, requestId);
    forward.completed({
      requestId,
      route: refusal.route,
      method: incoming.method ?? "",
      path: refusal.path,
      status: refusal.status,
      attempts: 0,
      retries: 0,
      durationMs: forward.clock() - startedAt,
      stop: undefined,
      retryable: false,
      localReason: refusal.reason,
    });
  };

  const handler = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const startedAt = forward.clock();
    const requestId = requestIdOf(incoming.headers["x-request-id"], forward.newId);
    if (incoming.headers.host === undefined && incoming.httpVersion === "1.1") {
      // RFC 9112 §3.2: a server must answer 400 (Node's server would, bare; proxy-listener.ts).
      const path = checkRequestTarget(incoming.url ?? "", options.ownAuthorities).path;
      const message = "an HTTP/1.1 request must have a Host header";
      const refusal = { status: 400, reason: "bad_request", message, route: "none", path } as const;
      outgoing.shouldKeepAlive = false; // as Node's own answer: such a client is not to be trusted
      return refuse(incoming, outgoing, refusal, requestId, startedAt);
    }
    const target = checkRequestTarget(incoming.url ?? "", options.ownAuthorities);
    if (!target.ok) {
      // route "none": a dot-segment, a malformed encoding or another host may lead anywhere, so
      // the route the path seems to start with is not the one it names.
      const { message, path } = target;
      return refuse(
        incoming,
        outgoing,
        { status: 400, reason: "bad_request", message, route: "none", path },
        requestId,
        startedAt,
      );
    }
    const path = target.path;
    const route = matchRoute(path);
    const ambiguous = findAmbiguousHeader(incoming.rawHeaders, incoming.headers.connection);
    if (ambiguous !== undefined) {
      const message = `header ${JSON.stringify(ambiguous)} reads as ${ambiguous.replaceAll("_", "-")} to some servers`;
      // The path is clean here: it names its route (or none), which the refusal is counted under.
      const refusal = {
        status: 400,
        reason: "ambiguous_header",
        message,
        route: route ?? "none",
        path,
      } as const;
      return refuse(incoming, outgoing, refusal, requestId, startedAt);
    }
    if (route === undefined) {
      const refusal = { status: 404, reason: "no_route", message: NO_ROUTE, route: "none", path } as const;
      return refuse(incoming, outgoing, refusal, requestId, startedAt);
    }
    forwardRequest(
      incoming,
      outgoing,
      { requestId, route, path: target.path, pathAndQuery: target.pathAndQuery, startedAt },
      forward,
      broke,
    );
  };
  // RFC 9110 §10.1.1: an expectation the sidecar cannot meet is a 417. Node would write it bare;
  // here it is the router's JSON answer, counted under the route the path names. The body, if the
  // client sends it anyway, is read and dropped, so the connection stays usable.
  const checkExpectation = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const startedAt = forward.clock();
    const requestId = requestIdOf(incoming.headers["x-request-id"], forward.newId);
    const target = checkRequestTarget(incoming.url ?? "", options.ownAuthorities);
    const route = (target.ok ? matchRoute(target.path) : undefined) ?? "none";
    const message = "only Expect: 100-continue is supported";
    const refusal = { status: 417, reason: "expectation_failed", message, route, path: target.path } as const;
    refuse(incoming, outgoing, refusal, requestId, startedAt);
  };
  // What never reaches the handler is answered, counted and logged like the router's refusals.
  const socketReplies = createSocketReplies({ newId: forward.newId, completed: forward.completed });
  return Object.assign(handler, socketReplies, { checkExpectation });
}

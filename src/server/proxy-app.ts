import type { IncomingMessage, ServerResponse } from "node:http";
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { Hono } from "hono";
import type { Logger } from "../observability/logger.js";
import { type ForwardDeps, forwardRequest } from "../proxy/forward-request.js";
import { checkRequestTarget } from "../proxy/request-target.js";
import { createRouteMatcher } from "../proxy/route-match.js";

export interface ProxyAppOptions {
  readonly routes: readonly string[];
  /** host[:port] values under which an absolute-form target still means "this sidecar". */
  readonly ownAuthorities: ReadonlySet<string>;
  readonly forward: ForwardDeps;
  readonly logger: Logger;
}

/**
 * The proxy listener's app: refuse unsafe targets (400) and unknown routes (404) with a JSON
 * body, hand everything else to the forwarder, which writes to the Node response directly so
 * that the upstream's body streams through without Web-stream conversions.
 */
export function createProxyApp(options: ProxyAppOptions) {
  const matchRoute = createRouteMatcher(options.routes);
  const { forward, logger } = options;
  const app = new Hono<{ Bindings: HttpBindings }>();

  app.all("*", (c) => {
    const { incoming, outgoing } = c.env;
    const startedAt = forward.clock();
    const target = checkRequestTarget(incoming.url ?? "", options.ownAuthorities);
    if (!target.ok) return refuse(c.env, 400, target.message, "bad_request_target", startedAt);
    const route = matchRoute(target.path);
    if (route === undefined) {
      return refuse(c.env, 404, "no route forwards this path", "no_route", startedAt, target.path);
    }
    forwardRequest(
      incoming,
      outgoing,
      { route, path: target.path, pathAndQuery: target.pathAndQuery, startedAt },
      forward,
    ).catch((error: unknown) => {
      // A bug, not an upstream failure: answer if we still can, never crash the process.
      logger.error({ err: error, route }, "forwarding failed");
      if (!outgoing.headersSent) {
        outgoing.writeHead(500, { "content-type": "application/json" });
        outgoing.end(JSON.stringify({ error: "internal error in retry-sidecar", reason: "internal" }));
      } else {
        outgoing.destroy();
      }
    });
    return RESPONSE_ALREADY_SENT;
  });

  function refuse(
    env: { incoming: IncomingMessage; outgoing: ServerResponse },
    status: 400 | 404,
    message: string,
    reason: string,
    startedAt: number,
    path = "",
  ): Response {
    env.incoming.resume(); // the body is not wanted; let it drain so the connection stays usable
    forward.completed({
      requestId:
        typeof env.incoming.headers["x-request-id"] === "string" ? env.incoming.headers["x-request-id"] : "",
      route: "none",
      method: env.incoming.method ?? "",
      path,
      status,
      attempts: 0,
      retries: 0,
      durationMs: forward.clock() - startedAt,
      stop: undefined,
      retryable: false,
    });
    return Response.json({ error: message, reason }, { status });
  }

  return app;
}

import type { IncomingMessage, ServerResponse } from "node:http";
import { getRequestListener, type HttpBindings, RequestError } from "@hono/node-server";
import type { Hono } from "hono";

/**
 * The proxy port's Node request listener: the Hono app behind @hono/node-server, plus what a
 * drain needs. Answers not yet sent when the drain starts are switched to "Connection: close",
 * and each connection closes once its answer is out, so that no client sends another request on
 * a connection the drain is about to cut.
 */
export function createProxyListener(app: Hono<{ Bindings: HttpBindings }>) {
  // Hono answers HEAD by running the GET handler and re-wrapping its Response, which turns
  // RESPONSE_ALREADY_SENT into an empty 200 written before the forwarder's answer. The handler
  // takes the method from `incoming`, so HEAD is dispatched as GET (Node sends no body to HEAD).
  const fetch: typeof app.fetch = (request, ...rest) =>
    app.fetch(
      request.method === "HEAD"
        ? new Request(request.url, { method: "GET", headers: request.headers })
        : request,
      ...rest,
    );
  const honoListener = getRequestListener(fetch, {
    autoCleanupIncoming: false, // the forwarder reads (or drains) every body itself
    errorHandler: (error) =>
      Response.json(
        { error: error instanceof RequestError ? error.message : "bad request", reason: "bad_request" },
        { status: 400 },
      ),
  });

  let draining = false;
  let onAnswered: () => void = () => {};
  const unanswered = new Set<ServerResponse>();
  const listener = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    if (draining) outgoing.shouldKeepAlive = false;
    unanswered.add(outgoing);
    outgoing.once("close", () => {
      unanswered.delete(outgoing);
      if (draining) setImmediate(onAnswered);
    });
    void honoListener(incoming, outgoing);
  };
  return {
    listener,
    /** From now on every answer closes its connection; `answered` runs after each one. */
    startDraining(answered: () => void): void {
      draining = true;
      onAnswered = answered;
      for (const outgoing of unanswered) if (!outgoing.headersSent) outgoing.shouldKeepAlive = false;
    },
  };
}

import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "./proxy-app.js";

/**
 * The proxy port's Node request listener: the proxy handler, plus what a drain needs. Answers not
 * yet sent when the drain starts are switched to "Connection: close", and each connection closes
 * once its answer is out, so that no client sends another request on a connection the drain is
 * about to cut.
 */
export function createProxyListener(handler: RequestHandler) {
  let draining = false;
  let onAnswered: () => void = () => {};
  const unanswered = new Set<ServerResponse>();
  const forget = function (this: ServerResponse) {
    unanswered.delete(this);
    if (draining) setImmediate(onAnswered);
  };
  const listener = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    if (draining) outgoing.shouldKeepAlive = false;
    unanswered.add(outgoing);
    // "close" is emitted once per response: `on` saves the wrapper `once` makes per request.
    outgoing.on("close", forget);
    handler(incoming, outgoing);
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

import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "./proxy-app.js";

const SLOT = Symbol("retry-sidecar.unansweredSlot");
type Slotted = ServerResponse & { [SLOT]?: number | undefined };

/**
 * The proxy port's Node request listener: the proxy handler, plus what a drain needs. Answers not
 * yet sent when the drain starts are switched to "Connection: close", and each connection closes
 * once its answer is out, so that no client sends another request on a connection the drain is
 * about to cut.
 */
export function createProxyListener(handler: RequestHandler) {
  let draining = false;
  let onAnswered: () => void = () => {};
  // The answers not yet sent: an array in which each response knows its slot (a removal moves the
  // last one into it), not a `Set`: with a `Set` here and one of the requests in flight, most of
  // each finished request was promoted out of the young generation (proxy/in-flight.ts).
  const unanswered: Slotted[] = [];
  const forget = function (this: Slotted) {
    const slot = this[SLOT];
    if (slot !== undefined && unanswered[slot] === this) {
      const last = unanswered.pop() as Slotted;
      if (last !== this) {
        unanswered[slot] = last;
        last[SLOT] = slot;
      }
      this[SLOT] = undefined;
    }
    if (draining) setImmediate(onAnswered);
  };
  const listener = (incoming: IncomingMessage, outgoing: Slotted) => {
    if (draining) outgoing.shouldKeepAlive = false;
    outgoing[SLOT] = unanswered.length;
    unanswered.push(outgoing);
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

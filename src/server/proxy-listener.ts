import type { IncomingMessage, ServerResponse } from "node:http";
import { SlotList } from "../runtime/slot-list.js";
import type { ServerListener } from "./listen.js";
import type { RequestHandler } from "./proxy-app.js";

const SLOT = Symbol("retry-sidecar.unansweredSlot");

/**
 * The proxy port's Node request listener: the proxy handler, plus what a drain needs. Answers not
 * yet sent when the drain starts are switched to "Connection: close", and each connection closes
 * once its answer is out, so that no client sends another request on a connection the drain is
 * about to cut.
 */
export function createProxyListener(handler: RequestHandler) {
  let draining = false;
  let onAnswered: () => void = () => {};
  // The answers not yet sent, in a SlotList, not a `Set` (runtime/slot-list.ts says why).
  const unanswered = new SlotList<ServerResponse>(SLOT);
  const forget = function (this: ServerResponse) {
    unanswered.remove(this);
    if (draining) setImmediate(onAnswered);
  };
  const listener: ServerListener = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    if (draining) outgoing.shouldKeepAlive = false;
    unanswered.add(outgoing);
    // "close" is emitted once per response: `on` saves the wrapper `once` makes per request.
    outgoing.on("close", forget);
    handler(incoming, outgoing);
  };
  // Its answers to CONNECT and malformed requests (each closes its connection, drain or not), and
  // to an Expect it cannot meet.
  listener.connect = handler.connect;
  listener.clientError = handler.clientError;
  listener.checkExpectation = handler.checkExpectation;
  listener.checksHost = true;
  return {
    listener,
    /** From now on every answer closes its connection; `answered` runs after each one. */
    startDraining(answered: () => void): void {
      draining = true;
      onAnswered = answered;
      for (const outgoing of unanswered.members) if (!outgoing.headersSent) outgoing.shouldKeepAlive = false;
    },
  };
}

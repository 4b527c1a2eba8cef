import type { ServerResponse } from "node:http";

/**
 * The JSON body of an answer the sidecar makes itself: `reason` names it (and counts it);
 * `attempts` on those that end a forwarded request (502, 503, 504). Nothing else: the contract
 * gives these bodies whole, and a client may compare them so.
 */
export interface LocalReplyBody {
  readonly error: string;
  readonly reason: string;
  readonly attempts?: number;
}

// The reason of the sidecar's own answer rides on the response, so that whoever reports the
// request (the forwarder, the router) finds it in one place, whatever code path answered.
const LOCAL_REASON = Symbol("retry-sidecar.localReason");
// The status of an answer written straight to the socket (server/socket-replies.ts), by-passing
// the response: Node's parser refused the rest of a request the router already holds.
const SOCKET_STATUS = Symbol("retry-sidecar.socketStatus");
type Marked = ServerResponse & { [LOCAL_REASON]?: string; [SOCKET_STATUS]?: number };

/**
 * The answers the sidecar gives itself (everything else is the upstream's): a JSON body, so that
 * a client can tell them from the upstream's, and the request id, as on every answer.
 */
export function sendJson(
  outgoing: ServerResponse,
  status: number,
  body: LocalReplyBody,
  requestId: string,
  headers: Record<string, string | number> = {},
): void {
  const text = JSON.stringify(body);
  outgoing.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-request-id": requestId,
    ...headers,
  });
  (outgoing as Marked)[LOCAL_REASON] = body.reason;
  outgoing.end(text);
}

/** The `reason` of the sidecar's own answer on this response; undefined when it is the upstream's. */
export function localReasonOf(outgoing: ServerResponse): string | undefined {
  return (outgoing as Marked)[LOCAL_REASON];
}

/** Notes on the response of a request the router holds that its answer went on the socket. */
export function markAnsweredOnSocket(outgoing: ServerResponse, status: number, reason: string): void {
  (outgoing as Marked)[LOCAL_REASON] = reason;
  (outgoing as Marked)[SOCKET_STATUS] = status;
}

/** The status of the answer written on the socket for this response; undefined when none was. */
export function statusSentOnSocket(outgoing: ServerResponse): number | undefined {
  return (outgoing as Marked)[SOCKET_STATUS];
}

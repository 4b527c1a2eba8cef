import { type IncomingMessage, METHODS, type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { type LocalReplyBody, markAnsweredOnSocket } from "../proxy/error-replies.js";
import type { RequestCompleted } from "../proxy/request-completed.js";
import { requestIdOf } from "../proxy/request-id.js";

/** What the answers written straight to a socket need: ids, and the report of each. */
export interface SocketReplyDeps {
  readonly newId: () => string;
  /** Told of each answer, as the router's own answers are (metrics, the log); undefined: none. */
  readonly completed?: (event: RequestCompleted) => void;
}

/** The proxy listener's answers to what never becomes a request for the router. */
export interface SocketReplies {
  /** The server's "connect" event: CONNECT asks for a tunnel (RFC 9110 §9.3.6). */
  connect(request: IncomingMessage, socket: Duplex): void;
  /** The server's "clientError" event: Node's parser refused the bytes, or the client was too slow. */
  clientError(error: Error & { code?: string; rawPacket?: Buffer }, socket: Duplex): void;
}

interface Refusal {
  readonly status: number;
  readonly body: LocalReplyBody;
}

// Node's own mapping of these errors to a status (its default "clientError" answer), kept; the
// rest of what its parser refuses (a target without "/", Content-Length with Transfer-Encoding, a
// bad method or chunk) is its 400. (A missing Host is the router's to refuse: the proxy listener
// turns Node's own check off.)
const NODE_STATUS: Record<string, Refusal> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    body: { error: "request headers or URL over 16 KiB", reason: "headers_too_large" },
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    body: { error: "chunk extensions too large", reason: "chunk_extensions_too_large" },
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    body: { error: "the request did not arrive in time", reason: "request_timeout" },
  },
};

const CONNECT_REFUSED: Refusal = {
  status: 405,
  body: { error: "CONNECT is not supported: this is not a tunnel", reason: "connect_not_supported" },
};
const ALLOW = "allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n";

/**
 * Answers like the router's own (a JSON body with error and reason, X-Request-Id), for what Node
 * hands to server events instead of the request listener, where Node would drop the socket
 * (CONNECT) or write a bare status line (a malformed request). There is no response object here:
 * the answer is written on the socket, and the connection is closed after it.
 */
export function createSocketReplies(deps: SocketReplyDeps): SocketReplies {
  const report = (requestId: string, method: string, path: string, refusal: Refusal): void => {
    deps.completed?.({
      requestId,
      route: "none",
      method,
      path,
      status: refusal.status,
      attempts: 0,
      retries: 0,
      durationMs: 0, // parsed as it arrived: nothing of the sidecar's time to measure
      stop: undefined,
      retryable: false,
      localReason: refusal.body.reason,
    });
  };
  return {
    connect(request, socket) {
      const requestId = requestIdOf(request.headers["x-request-id"], deps.newId);
      socket.on("error", () => {}); // the client may already be gone; nothing else listens here
      writeAnswer(socket, CONNECT_REFUSED, requestId, ALLOW);
      // The target is an authority (host:port); any userinfo is left out of the log.
      const target = request.url ?? "";
      report(requestId, "CONNECT", target.slice(target.lastIndexOf("@") + 1), CONNECT_REFUSED);
    },
    clientError(error, socket) {
      // A request the router already has (its body broke, or arrived too slowly) is its to report.
      const inFlight = (socket as { _httpMessage?: ServerResponse })._httpMessage;
      // A client that closed its side in the middle of its body has left: its request is a 499.
      const left =
        error.code === "ECONNRESET" || (inFlight !== undefined && error.code === "HPE_INVALID_EOF_STATE");
      if (left || !socket.writable || inFlight?.headersSent === true) {
        socket.destroy();
        return;
      }
      const refusal = NODE_STATUS[error.code ?? ""] ?? malformed(error.code);
      const requestId = requestIdOf(inFlight?.req?.headers["x-request-id"], deps.newId);
      // The router's request is reported by the router, as what its client got (not as a 499).
      if (inFlight !== undefined) markAnsweredOnSocket(inFlight, refusal.status, refusal.body.reason);
      writeAnswer(socket, refusal, requestId);
      if (inFlight === undefined) report(requestId, methodOf(error.rawPacket), "", refusal);
    },
  };
}

function malformed(code: string | undefined): Refusal {
  const why = code === undefined ? "" : ` (${code})`;
  return { status: 400, body: { error: `malformed HTTP request${why}`, reason: "bad_request" } };
}

/** The method the refused bytes start with, if Node knows it ("unknown" otherwise: a bounded label). */
function methodOf(rawPacket: Buffer | undefined): string {
  const word = rawPacket?.toString("latin1", 0, 24).split(" ", 1)[0] ?? "";
  return METHODS.includes(word) ? word : "unknown";
}

/** The whole answer in one write, then the connection is closed once it is out. */
function writeAnswer(socket: Duplex, refusal: Refusal, requestId: string, extraHeaders = ""): void {
  const text = JSON.stringify(refusal.body);
  socket.end(
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n${extraHeaders}` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n` +
      `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${text}`,
    () => socket.destroy(), // a client that never closes its side must not hold the socket
  );
}

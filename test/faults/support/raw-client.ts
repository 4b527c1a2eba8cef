import { connect } from "node:net";

/** One HTTP response as read off the wire, and whether its body arrived whole. */
export interface WireResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly complete: boolean;
}

export interface Exchange {
  /** Every response on the connection, interim (1xx) ones included, in order. */
  readonly responses: WireResponse[];
  /** Final (non-1xx) responses: "exactly one answer" means this has length 1. */
  readonly finals: WireResponse[];
  /** How the connection ended: the sidecar closed it (FIN), reset it, or it was still open. */
  readonly ended: "end" | "reset" | "timeout";
  readonly raw: string;
  readonly ms: number;
}

export interface ExchangeOptions {
  /** Give up waiting for the connection to end after this long (then ended = "timeout"). */
  readonly timeoutMs?: number;
  /** Write the bytes in pieces, this long apart (slow-loris clients). */
  readonly pieces?: readonly (string | Buffer)[];
  readonly pieceGapMs?: number;
}

/**
 * Writes raw bytes to 127.0.0.1:port and reads until the peer ends the connection. Raw bytes,
 * because hostile input (CL+TE, bad targets) must reach the sidecar exactly as written, and
 * because counting the responses on the wire is what proves "exactly one answer".
 */
export function exchange(
  port: number,
  bytes: string | Buffer,
  options: ExchangeOptions = {},
): Promise<Exchange> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (ended: Exchange["ended"]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const t of pieceTimers) clearTimeout(t);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString("latin1");
      const responses = parseResponses(raw);
      resolve({
        responses,
        finals: responses.filter((r) => r.status >= 200),
        ended,
        raw,
        ms: Date.now() - started,
      });
    };
    const timer = setTimeout(() => finish("timeout"), options.timeoutMs ?? 10_000);
    const pieceTimers: NodeJS.Timeout[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => finish("end"));
    socket.on("close", () => finish("end"));
    socket.on("error", () => finish("reset"));
    socket.on("connect", () => {
      const pieces = options.pieces ?? [bytes];
      pieces.forEach((piece, i) => {
        const write = () => {
          if (!socket.destroyed) socket.write(piece, () => {});
        };
        if (i === 0) write();
        else pieceTimers.push(setTimeout(write, i * (options.pieceGapMs ?? 0)));
      });
    });
  });
}

/** A request in origin-form that asks the sidecar to close the connection after answering. */
export function rawRequest(
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body = "",
): string {
  const lines = [`${method} ${target} HTTP/1.1`, "host: 127.0.0.1", "connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== "" || method === "POST") lines.push(`content-length: ${Buffer.byteLength(body)}`);
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}

/** Splits a byte stream into HTTP/1.1 responses (Content-Length, chunked, or to the end). */
export function parseResponses(raw: string): WireResponse[] {
  const out: WireResponse[] = [];
  let rest = raw;
  while (rest.startsWith("HTTP/")) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) break;
    const lines = rest.slice(0, end).split("\r\n");
    const status = Number((lines[0] ?? "").split(" ")[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.slice(end + 4);
    if (status < 200 || status === 204 || status === 304) {
      out.push({ status, headers, body: "", complete: true });
      continue;
    }
    if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      out.push({ status, headers, body: rest.slice(0, length), complete: rest.length >= length });
      rest = rest.slice(length);
    } else if (/chunked/i.test(headers["transfer-encoding"] ?? "")) {
      const { body, complete, consumed } = dechunk(rest);
      out.push({ status, headers, body, complete });
      rest = rest.slice(consumed);
    } else {
      out.push({ status, headers, body: rest, complete: true });
      rest = "";
    }
  }
  return out;
}

function dechunk(text: string): { body: string; complete: boolean; consumed: number } {
  let at = 0;
  let body = "";
  for (;;) {
    const lineEnd = text.indexOf("\r\n", at);
    if (lineEnd === -1) return { body, complete: false, consumed: text.length };
    const size = Number.parseInt(text.slice(at, lineEnd), 16);
    if (Number.isNaN(size)) return { body, complete: false, consumed: text.length };
    if (size === 0) {
      const trailerEnd = text.indexOf("\r\n", lineEnd + 2);
      if (trailerEnd === -1) return { body, complete: false, consumed: text.length };
      return { body, complete: true, consumed: trailerEnd + 2 };
    }
    if (text.length < lineEnd + 2 + size + 2) {
      return { body: body + text.slice(lineEnd + 2), complete: false, consumed: text.length };
    }
    body += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

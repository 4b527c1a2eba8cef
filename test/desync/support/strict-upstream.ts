import { type AddressInfo, createServer, type Server, type Socket } from "node:net";

/** One request as the upstream read it off the wire. */
export interface ReceivedRequest {
  /** Which upstream connection (1, 2, ...) and which request on it (1 for the first). */
  readonly connection: number;
  readonly index: number;
  readonly method: string;
  readonly target: string;
  /** Header names as sent, in order. */
  readonly names: readonly string[];
  readonly body: Buffer;
}

export interface StrictUpstream {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** What made the upstream give up on a connection: any entry is a framing the test must fail on. */
  readonly errors: string[];
  /** Every byte received so far, on all connections. */
  bytes(): number;
  close(): Promise<void>;
}

// Header names read the way the most lenient servers read them: case folded and "_" as "-", so
// that a Transfer_Encoding that reached the upstream counts as a Transfer-Encoding.
const read = (name: string) => name.toLowerCase().replaceAll("_", "-");
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values: visible characters, spaces and tabs (RFC 9110 §5.5); no CR, LF or NUL.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * An HTTP/1.1 upstream on net.Server that reads requests the strict way (RFC 9112: CRLF only, no
 * obs-fold, one framing header, Content-Length digits only, Transfer-Encoding exactly "chunked")
 * while treating "_" in names as "-". A request it cannot frame without guessing is an error
 * (recorded; the connection is closed). Each request it reads is answered 200 with its body
 * echoed and keep-alive, so a second request on the same connection shows whether the first
 * one left the connection in step.
 */
export async function startStrictUpstream(): Promise<StrictUpstream> {
  const requests: ReceivedRequest[] = [];
  const errors: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let total = 0;

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    connections += 1;
    const connection = connections;
    let buffered = Buffer.alloc(0);
    let index = 0;
    socket.on("data", (chunk: Buffer) => {
      total += chunk.length;
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const result = parseRequest(buffered);
        if (result === "incomplete") return;
        if (typeof result === "string") {
          errors.push(`connection ${connection}: ${result}`);
          socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
          buffered = Buffer.alloc(0);
          return;
        }
        index += 1;
        requests.push({ connection, index, ...result.request });
        buffered = buffered.subarray(result.consumed);
        const body = result.request.body;
        socket.write(
          `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${body.length}\r\n` +
            `x-upstream-connection: ${connection}\r\nx-upstream-index: ${index}\r\n\r\n`,
        );
        socket.write(body);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    errors,
    bytes: () => total,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

type Parsed =
  | "incomplete"
  | string
  | { request: Omit<ReceivedRequest, "connection" | "index">; consumed: number };

function parseRequest(buffer: Buffer): Parsed {
  const end = buffer.indexOf("\r\n\r\n");
  const head = (end === -1 ? buffer : buffer.subarray(0, end)).toString("latin1");
  if (/(^|[^\r])\n/.test(head)) return "a bare LF in the head";
  if (end === -1) return buffer.length > 64 * 1024 ? "a head over 64 KiB" : "incomplete";
  const [requestLine = "", ...lines] = head.split("\r\n");
  const start = /^([A-Z]+) (\S+) HTTP\/1\.1$/.exec(requestLine);
  if (start === null) return `a bad request line ${JSON.stringify(requestLine)}`;
  const names: string[] = [];
  const lengths: string[] = [];
  const codings: string[] = [];
  for (const line of lines) {
    if (line.startsWith(" ") || line.startsWith("\t")) return "obs-fold";
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (colon <= 0 || !TOKEN.test(name)) return `a bad header name ${JSON.stringify(name)}`;
    if (!FIELD_VALUE.test(value)) return `a control character in ${name}`;
    names.push(name);
    if (read(name) === "content-length") lengths.push(value);
    if (read(name) === "transfer-encoding") codings.push(value);
  }
  const bodyStart = end + 4;
  if (codings.length > 0) {
    if (lengths.length > 0) return "both Content-Length and Transfer-Encoding";
    if (codings.length > 1 || codings[0]?.toLowerCase() !== "chunked") {
      return `Transfer-Encoding ${JSON.stringify(codings.join(", "))}`;
    }
    const chunked = dechunk(buffer, bodyStart);
    if (typeof chunked === "string") return chunked;
    return {
      request: { method: start[1] as string, target: start[2] as string, names, body: chunked.body },
      consumed: chunked.end,
    };
  }
  if (lengths.length > 1) return `${lengths.length} Content-Length headers`;
  const length = lengths[0] ?? "0";
  if (!/^\d{1,15}$/.test(length)) return `Content-Length ${JSON.stringify(length)}`;
  const bodyEnd = bodyStart + Number(length);
  if (buffer.length < bodyEnd) return "incomplete";
  const body = Buffer.from(buffer.subarray(bodyStart, bodyEnd));
  return {
    request: { method: start[1] as string, target: start[2] as string, names, body },
    consumed: bodyEnd,
  };
}

/** A chunked body from `at`: its bytes and where the message ends, or why it cannot be read. */
function dechunk(buffer: Buffer, at: number): "incomplete" | string | { body: Buffer; end: number } {
  const parts: Buffer[] = [];
  let position = at;
  for (;;) {
    const lineEnd = buffer.indexOf("\r\n", position);
    if (lineEnd === -1) return "incomplete";
    const sizeText = buffer.subarray(position, lineEnd).toString("latin1").split(";")[0] ?? "";
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return `a chunk size ${JSON.stringify(sizeText)}`;
    const size = Number.parseInt(sizeText, 16);
    if (size === 0) {
      // The last chunk, then trailer lines (if any) and an empty line.
      if (buffer.length < lineEnd + 4) return "incomplete";
      const last = buffer.subarray(lineEnd + 2, lineEnd + 4).toString("latin1") === "\r\n";
      const trailersEnd = last ? lineEnd : buffer.indexOf("\r\n\r\n", lineEnd + 2);
      return trailersEnd === -1 ? "incomplete" : { body: Buffer.concat(parts), end: trailersEnd + 4 };
    }
    if (buffer.length < lineEnd + 2 + size + 2) return "incomplete";
    parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
    if (buffer.subarray(lineEnd + 2 + size, lineEnd + 4 + size).toString("latin1") !== "\r\n") {
      return "a chunk not followed by CRLF";
    }
    position = lineEnd + 4 + size;
  }
}

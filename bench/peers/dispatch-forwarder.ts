/**
 * The limit of this stack: a bare `node:http` server whose handler calls undici's `Pool.dispatch`
 * with one small handler object per request (undici 7's controller API), writing the upstream's
 * status, headers and body chunks straight to the `ServerResponse`. No framework, no `Readable` per
 * response, no pipe, no promise per request; backpressure by pausing the dispatch until 'drain'.
 * The request body is buffered, as a retrying proxy must. Nothing else: no retries, metrics or logs.
 * Env: PORT, UPSTREAM_URL.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { type Dispatcher, Pool } from "undici";

const upstream = new URL(process.env.UPSTREAM_URL ?? "http://127.0.0.1:5002");
const pool = new Pool(upstream.origin, { headersTimeout: 0 });

// RFC 9110 §7.6.1: connection-specific fields are not forwarded (host is set to the upstream's).
const DROP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

class ForwardHandler implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private readonly resume = () => this.controller?.resume();

  constructor(private readonly res: ServerResponse) {
    res.once("close", () => {
      if (!res.writableFinished) this.controller?.abort(new Error("client went away"));
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    const out: (string | string[])[] = [];
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined && !DROP.has(name)) out.push(name, value);
    }
    this.res.writeHead(status, out as unknown as string[]);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once("drain", this.resume);
    }
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController, _error: Error): void {
    if (this.res.headersSent) this.res.destroy();
    else this.res.writeHead(502).end();
  }
}

function forward(req: IncomingMessage, res: ServerResponse, body: Buffer | null): void {
  const headers = ["host", upstream.host];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (!DROP.has(lower) && lower !== "host" && lower !== "content-length")
      headers.push(name, raw[i + 1] as string);
  }
  if (body) headers.push("content-length", String(body.length));
  const method = (req.method ?? "GET") as Dispatcher.HttpMethod;
  pool.dispatch({ path: req.url ?? "/", method, headers, body }, new ForwardHandler(res));
}

createServer((req, res) => {
  if (req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined) {
    req.resume();
    forward(req, res, null);
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => forward(req, res, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
}).listen(Number(process.env.PORT), "127.0.0.1");
// Exit normally on SIGTERM so that `node --cpu-prof` writes its profile.
process.once("SIGTERM", () => process.exit(0));

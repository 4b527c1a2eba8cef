/**
 * The floor for retry-sidecar: the same stack and the same I/O path (hono on @hono/node-server
 * writing to the Node response directly, the body buffered, an undici Pool with flat header
 * lists, the upstream body piped back) and nothing else: no retries, no budget or breaker, no
 * metrics, no logs. retry-sidecar's row minus this row is what its retry machinery, metrics and
 * logs cost. Env: PORT, UPSTREAM_URL.
 */
import { createServer, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { getRequestListener, type HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { Hono } from "hono";
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

function readBody(incoming: IncomingMessage): Promise<Buffer | null> {
  if (
    incoming.headers["content-length"] === undefined &&
    incoming.headers["transfer-encoding"] === undefined
  ) {
    incoming.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    incoming.on("error", reject);
  });
}

const app = new Hono<{ Bindings: HttpBindings }>();
app.all("*", (c) => {
  const { incoming, outgoing } = c.env;
  void (async () => {
    const body = await readBody(incoming);
    const headers = ["host", upstream.host];
    const raw = incoming.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i] as string;
      const lower = name.toLowerCase();
      if (!DROP.has(lower) && lower !== "host" && lower !== "content-length")
        headers.push(name, raw[i + 1] as string);
    }
    if (body) headers.push("content-length", String(body.length));
    const res = await pool.request({
      path: incoming.url ?? "/",
      method: (incoming.method ?? "GET") as Dispatcher.HttpMethod,
      headers,
      body,
    });
    const out: OutgoingHttpHeaders = {};
    for (const name in res.headers) if (!DROP.has(name)) out[name] = res.headers[name];
    outgoing.writeHead(res.statusCode, out);
    // As retry-sidecar streams it (src/proxy/pipe-response.ts): a plain pipe, the upstream body
    // destroyed if the client goes away first, the client's socket if the body breaks.
    res.body.on("error", (error) => outgoing.destroy(error));
    outgoing.on("close", () => {
      if (!outgoing.writableFinished) res.body.destroy();
    });
    res.body.pipe(outgoing);
  })().catch(() => {
    if (!outgoing.headersSent) outgoing.writeHead(502);
    outgoing.end();
  });
  return RESPONSE_ALREADY_SENT;
});

const listener = getRequestListener(app.fetch, { autoCleanupIncoming: false });
createServer(listener).listen(Number(process.env.PORT), "127.0.0.1");
// Exit normally on SIGTERM so that `node --cpu-prof` writes its profile.
process.once("SIGTERM", () => process.exit(0));

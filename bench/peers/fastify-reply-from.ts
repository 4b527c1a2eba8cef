/**
 * Node peer: fastify 5 + @fastify/reply-from (undici underneath), the usual way to write a proxy in
 * fastify. Request bodies are passed through as raw streams, not parsed. No retries, no logs.
 * Env: PORT, UPSTREAM_URL.
 */
import replyFrom from "@fastify/reply-from";
import Fastify from "fastify";

const port = Number(process.env.PORT);
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
await app.register(replyFrom, {
  base: process.env.UPSTREAM_URL,
  undici: { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 },
});
app.all("/provider", (request, reply) => reply.from(request.url));
app.all("/provider/*", (request, reply) => reply.from(request.url));
await app.listen({ host: "127.0.0.1", port });
// Exit normally on SIGTERM so that `node --cpu-prof` writes its profile.
process.once("SIGTERM", () => process.exit(0));

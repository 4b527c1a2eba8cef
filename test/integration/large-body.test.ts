import { describe, expect, it } from "vitest";
import { send, useScenario } from "../support/scenario.js";
import type { Harness } from "../support/sidecar-harness.js";

// docs/contract.md "Forwarding": bodies up to MAX_BODY_BYTES are buffered so that they can be replayed
// (byte for byte on every attempt). A larger body is streamed upstream once and not retried
// (retries_skipped{reason="body_too_large"} when its attempt fails retryably); it is never refused.

const s = useScenario({ status: 200, body: "stored" });

const MAX = 1024;

/** `size` bytes cycling through all 256 values, offset so that it does not start at 0. */
function binary(size: number, offset = 7): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i + offset) % 256;
  return bytes;
}

/** The body as a stream of `chunk`-byte pieces: fetch sends it chunked, without Content-Length. */
function chunked(body: Buffer, chunk = 300): RequestInit {
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= body.length) return controller.close();
      controller.enqueue(new Uint8Array(body.subarray(at, at + chunk)));
      at += chunk;
    },
  });
  return { method: "POST", body: stream, duplex: "half" } as RequestInit;
}

const skippedTooLarge = (h: Harness) =>
  h.metric("retry_sidecar_retries_skipped_total", { route: "/provider", reason: "body_too_large" });

describe("request bodies", () => {
  it("a body of exactly MAX_BODY_BYTES (Content-Length) is replayed byte-exact on every retry", async () => {
    const h = await s.start({ MAX_BODY_BYTES: String(MAX) });
    const body = binary(MAX);
    expect(new Set(body).size).toBe(256);
    s.upstream.script({ status: 503 }, { reset: true });
    const reply = await send(h, "/provider", {
      method: "POST",
      body,
      headers: { "content-type": "application/octet-stream" },
    });
    expect(reply.status).toBe(200);
    expect(reply.attempts).toBe(3);
    expect(s.upstream.received).toHaveLength(3);
    for (const r of s.upstream.received) {
      expect(r.body.equals(body)).toBe(true);
      expect(r.headers["content-length"]).toBe(String(MAX));
    }
    expect(await skippedTooLarge(h)).toBe(0);
  });

  it("a chunked body of exactly MAX_BODY_BYTES is replayed byte-exact too", async () => {
    const h = await s.start({ MAX_BODY_BYTES: String(MAX) });
    const body = binary(MAX, 200);
    s.upstream.script({ status: 503 });
    const reply = await send(h, "/provider", chunked(body));
    expect(reply.status).toBe(200);
    expect(reply.attempts).toBe(2);
    expect(s.upstream.received).toHaveLength(2);
    for (const r of s.upstream.received) expect(r.body.equals(body)).toBe(true);
  });

  it.each([
    ["Content-Length", false],
    ["chunked", true],
  ])("a larger body (%s) is streamed once, not retried on a 503", async (_framing, isChunked) => {
    const h = await s.start({ MAX_BODY_BYTES: String(MAX) });
    const body = binary(64 * MAX + 1);
    s.upstream.fallback = { status: 503, body: "down", headers: { "x-upstream": "yes" } };
    const init: RequestInit = isChunked ? chunked(body) : { method: "POST", body };
    const reply = await send(h, "/provider", init);
    expect(reply.status).toBe(503);
    expect(reply.text).toBe("down");
    expect(reply.headers.get("x-upstream")).toBe("yes");
    expect(reply.attempts).toBe(1);
    expect(s.upstream.received).toHaveLength(1);
    expect(s.upstream.received[0]?.body.equals(body)).toBe(true);
    expect(await skippedTooLarge(h)).toBe(1);
    expect(await h.metric("retry_sidecar_retries_total")).toBe(0);
  });

  it.each([
    ["Content-Length", false],
    ["chunked", true],
  ])("a larger body (%s) is forwarded byte-exact, not refused", async (_framing, isChunked) => {
    const h = await s.start({ MAX_BODY_BYTES: String(MAX) });
    const body = binary(MAX + 1, 1);
    const reply = await send(h, "/provider", isChunked ? chunked(body, 1000) : { method: "POST", body });
    expect(reply.status).toBe(200);
    expect(reply.text).toBe("stored");
    expect(reply.attempts).toBe(1);
    const [r] = s.upstream.received;
    expect(r?.body.length).toBe(MAX + 1);
    expect(r?.body.equals(body)).toBe(true);
    if (!isChunked) expect(r?.headers["content-length"]).toBe(String(MAX + 1));
    expect(await skippedTooLarge(h)).toBe(0);
  });

  it("a larger body whose attempt is reset is not retried: 502 after one attempt", async () => {
    const h = await s.start({ MAX_BODY_BYTES: String(MAX) });
    s.upstream.script({ reset: true });
    const reply = await send(h, "/provider", { method: "POST", body: binary(2 * MAX) });
    expect(reply.status).toBe(502);
    expect(reply.attempts).toBe(1);
    expect(s.upstream.received).toHaveLength(1);
    expect(await skippedTooLarge(h)).toBe(1);
  });

  it("MAX_BODY_BYTES applies per request: a small body after a large one is retried again", async () => {
    const h = await s.start({ MAX_BODY_BYTES: String(MAX) });
    s.upstream.script({ status: 503 }, { status: 503 });
    expect((await send(h, "/provider", { method: "POST", body: binary(MAX + 1) })).status).toBe(503);
    const small = await send(h, "/provider", { method: "POST", body: binary(10) });
    expect(small.status).toBe(200);
    expect(small.attempts).toBe(2);
  });
});

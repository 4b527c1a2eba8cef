import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";

/** A body buffered for replay, or one too large that is streamed upstream once. */
export type RequestBody =
  | { readonly replayable: true; readonly bytes: Buffer | null }
  | { readonly replayable: false; readonly stream: Readable };

/**
 * Reads the client's body up to `maxBytes` so that every attempt can send the same bytes.
 * A body announced (Content-Length) or found to be larger is streamed instead, its already-read
 * head first: it is never refused and never held whole in memory (like Linkerd's replay body).
 */
export function readRequestBody(incoming: IncomingMessage, maxBytes: number): Promise<RequestBody> {
  const length = incoming.headers["content-length"];
  const hasBody = length !== undefined || incoming.headers["transfer-encoding"] !== undefined;
  if (!hasBody) {
    incoming.resume(); // nothing to read; let the message end
    return Promise.resolve({ replayable: true, bytes: null });
  }
  if (length !== undefined && Number(length) > maxBytes) {
    return Promise.resolve({ replayable: false, stream: incoming });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) {
        incoming.pause();
        cleanup();
        resolve({
          replayable: false,
          stream: Readable.from(headThenRest(chunks, incoming), { objectMode: false }),
        });
      }
    };
    const onEnd = () => {
      cleanup();
      resolve({
        replayable: true,
        bytes: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size),
      });
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
  });
}

async function* headThenRest(head: Buffer[], rest: IncomingMessage): AsyncGenerator<Buffer> {
  yield* head;
  for await (const chunk of rest) yield chunk as Buffer;
}

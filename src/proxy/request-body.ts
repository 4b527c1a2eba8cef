import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";

/** Told once what became of the client's body. */
export interface BodyReceiver {
  /** The whole body, buffered for replay (null: the request has none). */
  bodyBuffered(bytes: Buffer | null): void;
  /** A body too large to buffer, streamed upstream once (its already-read head first). */
  bodyStreamed(stream: Readable): void;
  /** The client went away (or broke the framing) while sending it. */
  bodyFailed(error: Error): void;
}

// The reading state rides on the request, and the listeners are shared functions that find it
// there: no closure, promise or result object per request.
const READING = Symbol("retry-sidecar.bodyReading");

interface Reading {
  readonly receiver: BodyReceiver;
  readonly maxBytes: number;
  /** The first chunk; most bodies are one. */
  head: Buffer | undefined;
  /** Every chunk, once there is more than one. */
  chunks: Buffer[] | undefined;
  size: number;
}

type Read = IncomingMessage & { [READING]?: Reading };

/**
 * Reads the client's body up to `maxBytes` so that every attempt can send the same bytes, and
 * tells `receiver` (possibly before returning). A body announced (Content-Length) or found to be
 * larger is streamed instead, its already-read head first: it is never refused and never held
 * whole in memory (like Linkerd's replay body).
 */
export function readRequestBody(incoming: IncomingMessage, maxBytes: number, receiver: BodyReceiver): void {
  const length = incoming.headers["content-length"];
  const hasBody = length !== undefined || incoming.headers["transfer-encoding"] !== undefined;
  if (!hasBody) {
    incoming.resume(); // nothing to read; let the message end
    receiver.bodyBuffered(null);
    return;
  }
  if (length !== undefined && Number(length) > maxBytes) {
    receiver.bodyStreamed(incoming);
    return;
  }
  (incoming as Read)[READING] = { receiver, maxBytes, head: undefined, chunks: undefined, size: 0 };
  incoming.on("data", onData);
  incoming.on("end", onEnd);
  incoming.on("error", onError);
}

function onData(this: Read, chunk: Buffer): void {
  const reading = this[READING] as Reading;
  if (reading.head === undefined) reading.head = chunk;
  else if (reading.chunks === undefined) reading.chunks = [reading.head, chunk];
  else reading.chunks.push(chunk);
  reading.size += chunk.length;
  if (reading.size <= reading.maxBytes) return;
  this.pause();
  stopReading(this);
  const head = reading.chunks ?? [reading.head];
  reading.receiver.bodyStreamed(Readable.from(headThenRest(head, this), { objectMode: false }));
}

function onEnd(this: Read): void {
  const reading = this[READING] as Reading;
  stopReading(this);
  const bytes =
    reading.chunks === undefined
      ? (reading.head ?? Buffer.alloc(0))
      : Buffer.concat(reading.chunks, reading.size);
  reading.receiver.bodyBuffered(bytes);
}

function onError(this: Read, error: Error): void {
  const reading = this[READING] as Reading;
  stopReading(this);
  reading.receiver.bodyFailed(error);
}

function stopReading(incoming: Read): void {
  incoming.off("data", onData);
  incoming.off("end", onEnd);
  incoming.off("error", onError);
  incoming[READING] = undefined;
}

async function* headThenRest(head: Buffer[], rest: IncomingMessage): AsyncGenerator<Buffer> {
  yield* head;
  for await (const chunk of rest) yield chunk as Buffer;
}

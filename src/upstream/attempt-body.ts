import { SidecarError } from "../errors/sidecar-error.js";
import type { ResponseSink } from "./attempt-result.js";

// What a held answer may buffer before the retry loop decides (it decides within microtasks, so
// this is at most one socket read), and what a dropped answer may read to keep its connection:
// past it closing the connection is cheaper than draining it.
const HOLD_LIMIT_BYTES = 64 * 1024;
const DROP_LIMIT_BYTES = 64 * 1024;

/**
 * An attempt's body bookkeeping: the chunks held until the retry loop decides, the bytes read, and
 * whether the upstream's parser is paused. These are fields of the attempt itself
 * (upstream-attempt.ts) and the functions here take the attempt: it is the dispatch handler of every
 * proxied request, so its body gets no object of its own and no closure per chunk.
 */
export interface AttemptBody {
  /** The chunks of a held answer, until the retry loop's verdict. */
  held: Buffer[] | undefined;
  /** Bytes of this answer read so far, held and then dropped. */
  bytes: number;
  /** The upstream is paused: held past the limit, or the client's socket is full. */
  paused: boolean;
  /** undici's resume for this response (given with the headers). */
  resumeUpstream: (() => void) | undefined;
}

/** Keeps a chunk of a held answer; false (pause the upstream) once past HOLD_LIMIT_BYTES. */
export function holdChunk(body: AttemptBody, chunk: Buffer): boolean {
  body.held ??= [];
  body.held.push(chunk);
  body.bytes += chunk.length;
  if (body.bytes <= HOLD_LIMIT_BYTES) return true;
  body.paused = true;
  return false;
}

/** The answer is final: writes what was held to the client and lets it go. */
export function writeHeld(body: AttemptBody, sink: ResponseSink): void {
  const held = body.held;
  body.held = undefined;
  if (held !== undefined) for (const chunk of held) sink.write(chunk);
}

/** Writes a chunk of a final answer; false (pause the upstream until the client drains) if full. */
export function forwardChunk(body: AttemptBody, sink: ResponseSink, chunk: Buffer): boolean {
  if (sink.write(chunk)) return true;
  body.paused = true;
  sink.once("drain", () => unpause(body)); // one closure per pause, not per chunk
  return false;
}

/** Counts a chunk of a dropped answer; false once reading on costs more than a new connection. */
export function dropChunk(body: AttemptBody, chunk: Buffer): boolean {
  body.bytes += chunk.length;
  return worthDraining(body);
}

/** Whether the rest of a dropped answer is worth reading to keep its connection. */
export function worthDraining(body: AttemptBody): boolean {
  return body.bytes <= DROP_LIMIT_BYTES;
}

/** Lets a paused upstream send on. */
export function unpause(body: AttemptBody): void {
  if (!body.paused) return;
  body.paused = false;
  body.resumeUpstream?.();
}

/** Why a dropped answer's connection is closed instead of drained. */
export function cutOff(): SidecarError {
  return new SidecarError("UPSTREAM_DISCARDED", "retried answer cut off");
}

import pino, { type Logger } from "pino";
import { LineBatch } from "./line-batch.js";

export type { Logger };

// Log lines are collected into writes of at least this many chars (about 27 "request completed"
// lines; line-batch.ts), and whatever is pending is written at least this often, so a quiet
// sidecar's lines are never more than a quarter second late. One write per line cost about a fifth
// of the CPU of a proxied request (bench/README.md); the drain waits for what is pending before the
// process exits.
const LOG_WRITE_MIN_BYTES = 8192;
// sonic-boom measures the byte length of its whole pending chunk on every write it takes: once per
// batch, not per line, since line-batch.ts hands it whole batches (before, per line, that was more
// than half of a line's cost at 16 KiB).
const LOG_WRITE_MAX_BYTES = 16384;
const LOG_FLUSH_INTERVAL_MS = 250;

/**
 * pino JSON on stdout, one object per line. Written asynchronously (sonic-boom) so a request
 * never waits for the terminal or the log collector; the drain flushes it at shutdown. Bodies and
 * credentials are never passed to the logger; the redact list is a second fence.
 */
export function createLogger(level: string, destination: pino.DestinationStream = logDestination(1)): Logger {
  return pino(
    {
      level,
      // No base `name`: the "unknown setting" line has a `name` field of its own (the variable's),
      // and a second "name" key on one line is invalid for most JSON readers.
      // Level names and ISO 8601 UTC times, as log pipelines expect ("level":"info",
      // "time":"2026-12-04T21:08:23.123Z") rather than pino's numbers.
      formatters: { level: levelName },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: ["headers.authorization", "headers.cookie", "req.headers.authorization", "req.headers.cookie"],
    },
    destination,
  );
}

function levelName(label: string): { level: string } {
  return { level: label };
}

/** The asynchronous, batched destination the sidecar logs to: file descriptor `fd` (1: stdout). */
export function logDestination(fd: number): pino.DestinationStream {
  const sonic = pino.destination({
    dest: fd,
    sync: false,
    minLength: LOG_WRITE_MIN_BYTES,
    maxWrite: LOG_WRITE_MAX_BYTES,
  });
  // The batch writes what is pending every LOG_FLUSH_INTERVAL_MS (sonic-boom's own periodic flush
  // would not see the lines still in the batch).
  return new LineBatch(sonic, LOG_WRITE_MIN_BYTES, LOG_FLUSH_INTERVAL_MS);
}

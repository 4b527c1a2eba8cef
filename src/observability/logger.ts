import pino, { type Logger } from "pino";

export type { Logger };

// Log lines are collected into writes of at least this many bytes (about 15 "request completed"
// lines), and whatever is pending is written at least this often, so a quiet sidecar's lines are
// never more than a quarter second late. One write per line cost about a fifth of the CPU of a
// proxied request (bench/README.md); the drain waits for what is pending before the process exits.
const LOG_WRITE_MIN_BYTES = 4096;
const LOG_FLUSH_INTERVAL_MS = 250;

/**
 * pino JSON on stdout, one object per line. Written asynchronously (sonic-boom) so a request
 * never waits for the terminal or the log collector; the drain flushes it at shutdown. Bodies and
 * credentials are never passed to the logger; the redact list is a second fence.
 */
export function createLogger(
  level: string,
  destination: pino.DestinationStream = pino.destination({
    dest: 1,
    sync: false,
    minLength: LOG_WRITE_MIN_BYTES,
    periodicFlush: LOG_FLUSH_INTERVAL_MS,
  }),
): Logger {
  return pino(
    {
      level,
      name: "retry-sidecar",
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

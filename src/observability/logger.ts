import pino, { type Logger } from "pino";

export type { Logger };

/**
 * pino JSON on stdout, one object per line. Written asynchronously (sonic-boom) so a request
 * never waits for the terminal or the log collector; `flush` runs at shutdown. Bodies and
 * credentials are never passed to the logger; the redact list is a second fence.
 */
export function createLogger(
  level: string,
  destination: pino.DestinationStream = pino.destination({ dest: 1, sync: false }),
): Logger {
  return pino(
    {
      level,
      name: "retry-sidecar",
      redact: ["headers.authorization", "headers.cookie", "req.headers.authorization", "req.headers.cookie"],
    },
    destination,
  );
}

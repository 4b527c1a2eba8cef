import type { Server } from "node:http";
import type { Logger } from "../observability/logger.js";
import type { InFlight } from "../proxy/in-flight.js";
import { ShutdownAbort } from "../retry/abort-cause.js";

export interface DrainParts {
  readonly proxy: Server;
  readonly admin: Server;
  readonly inFlight: InFlight;
  readonly graceMs: number;
  /** Switches the proxy listener to closing connections after each answer. */
  readonly startDraining: (answered: () => void) => void;
  /** Closes the upstream connection pool once nothing uses it. */
  readonly closeUpstream: () => Promise<unknown>;
  readonly logger: Logger;
}

/**
 * docs/contract.md "Shutdown", in order: stop accepting connections, let the requests in flight (their
 * retries included) finish within the grace period, abort the rest, then close everything. The
 * caller has already turned /readyz to 503; the admin listener stays up until the very end.
 */
export async function drain(parts: DrainParts): Promise<void> {
  const { proxy, inFlight, logger } = parts;
  parts.startDraining(() => proxy.closeIdleConnections());
  logger.info({ inFlight: inFlight.size, graceMs: parts.graceMs }, "draining");
  const closed = closeServer(proxy);
  proxy.closeIdleConnections();
  const graceOver = await waitAtMost(inFlight.idle(), parts.graceMs);
  if (graceOver) {
    logger.warn({ inFlight: inFlight.size }, "grace period over: aborting requests still in flight");
    // The cause rides on each request's signal: they are logged as cut by shutdown, not as
    // clients that left.
    inFlight.abortAll(new ShutdownAbort());
    await waitAtMost(inFlight.idle(), 1000);
  }
  proxy.closeAllConnections();
  await closed;
  await parts.closeUpstream();
  parts.admin.closeAllConnections();
  await closeServer(parts.admin);
  logger.info("stopped");
  // Every line written before the process exits: an asynchronous write still in flight when
  // process.exit runs would be lost (the request lines of the drain among them). Bounded, in case
  // stdout's reader is stalled.
  await waitAtMost(new Promise<void>((resolve) => logger.flush(() => resolve())), LOG_FLUSH_LIMIT_MS);
}

const LOG_FLUSH_LIMIT_MS = 2000;

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Resolves true when `ms` passed before `promise` settled. */
async function waitAtMost(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), ms);
  });
  const result = await Promise.race([promise.then(() => false), timeout]);
  clearTimeout(timer);
  return result;
}

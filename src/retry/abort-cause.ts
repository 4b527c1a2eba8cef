/**
 * The reason a request's AbortSignal carries when shutdown cuts it off because the grace period
 * ran out. Any other abort is a client that went away; the two are logged apart
 * (retryStopped "shutdown" and "client_gone").
 */
export class ShutdownAbort extends Error {
  override readonly name = "ShutdownAbort";
  constructor() {
    super("the shutdown grace period ran out");
  }
}

/** How an aborted request stopped: cut off by shutdown, or its client left. */
export function stopOnAbort(signal: AbortSignal): "shutdown" | "client_gone" {
  return signal.reason instanceof ShutdownAbort ? "shutdown" : "client_gone";
}

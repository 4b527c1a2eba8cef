/** Wall-clock milliseconds (Retry-After dates are wall-clock); injected so tests control time. */
export type Clock = () => number;

/**
 * Waits `ms`, resolving early (never rejecting) when `signal` aborts. Injected so tests never
 * really wait; the real one is in ../runtime/real-time.ts.
 */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/** Uniform in [0, 1). */
export type Random = () => number;

export interface BackoffOptions {
  /** Delay before the first retry, ms (BACKOFF_BASE_MS). */
  readonly baseMs: number;
  /** Cap on any one delay, ms (BACKOFF_MAX_MS); jitter never pushes a delay past it. */
  readonly maxMs: number;
  /** Fraction j: delay x uniform [1-j, 1+j]; "full": uniform [0, delay] (BACKOFF_JITTER). */
  readonly jitter: number | "full";
}

/**
 * Delay before retry `retry` (1, 2, ...): min(max, base x 2^(retry-1)), then jittered, in whole ms.
 * `random` returns a uniform value in [0, 1); injected so tests choose it.
 */
export function backoffDelayMs(retry: number, options: BackoffOptions, random: () => number): number {
  const exponential = options.baseMs * 2 ** Math.max(0, retry - 1);
  const capped = Math.min(options.maxMs, exponential);
  const factor = options.jitter === "full" ? random() : 1 - options.jitter + 2 * options.jitter * random();
  return Math.round(Math.min(options.maxMs, Math.max(0, capped * factor)));
}

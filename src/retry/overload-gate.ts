/**
 * Overload protection as the admission and the retry loop see it (the policy is
 * ../overload/overload-protection.ts). Every attempt it admits holds a place in flight until it is
 * given back once: `finished` with its timing (a latency sample), or `release` when it says nothing
 * of the upstream (the client left, or the request never got to send).
 */
export interface OverloadGate {
  /** May a request's first attempt go now? If so, it holds a place in flight. */
  admitFirst(): boolean;
  /** May a retry go now? Asks only (before the wait). */
  retryAllowed(): boolean;
  /** Admits a retry about to be sent (after the wait). */
  admitRetry(): boolean;
  /** `waitedInVain`: waited for past its per-try timeout (see waitsPastTimeout), then no answer. */
  finished(sentAt: number, now: number, waitedInVain?: boolean): void;
  release(): void;
  /**
   * Retries are held back: the attempt sent at `sentAt`, now at its per-try timeout, is waited for
   * rather than cut (see RetryRun.waitLonger).
   */
  waitsPastTimeout(sentAt: number): boolean;
}

/** OVERLOAD_PROTECTION=off, as far as these callers are concerned: everything goes. */
export const NO_OVERLOAD: OverloadGate = {
  admitFirst: () => true,
  retryAllowed: () => true,
  admitRetry: () => true,
  finished() {},
  release() {},
  waitsPastTimeout: () => false,
};

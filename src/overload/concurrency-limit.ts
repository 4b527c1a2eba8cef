export interface LimitOptions {
  /** A late answer multiplies the limit by this (0 < decrease < 1). */
  readonly decrease: number;
  /**
   * Without late answers the limit doubles every `recoveryMs`, by the clock alone (from the last
   * late answer): a pod that sends little, and so hears little, must still lift its limit once
   * the upstream is well.
   */
  readonly recoveryMs: number;
  /** The lowest limit. Below 1 one attempt goes at a time, without retries, until it regrows to 1. */
  readonly minLimit: number;
  /** A limit that grows past this is lifted: no limit at all (Infinity). */
  readonly maxLimit: number;
}

// On-time answers grow the limit as TCP's slow start grows its window: one attempt more per answer
// (so it doubles per round trip), and below one attempt it doubles per answer. A pod that hears
// answers again climbs back within a few round trips; one that hears none regrows by the clock.
const GROW_STEP = 1;
const GROW_BELOW_ONE = 2;
// What an attempt waited for past its per-try timeout and still unanswered at the deadline leaves
// of the limit (at most one attempt): the queue is longer than the whole deadline. 0.1 and 0.3
// came out alike in the fleet simulator (0.1 a little better at 100 pods); docs/overload.md.
const WAITED_IN_VAIN = 0.1;

/**
 * The concurrency limit of one upstream, as a number that late answers cut and on-time answers
 * and time restore (multiplicative decrease, slow-start regrowth; after TCP's congestion window
 * and Netflix's AIMD limit). Lifted (Infinity) until an answer is late, so healthy traffic is
 * never limited, however bursty. Pure arithmetic on the times it is given.
 */
export class ConcurrencyLimit {
  // Protected, not private: the fleet simulator compares other ways of moving it (subclasses).
  protected value = Number.POSITIVE_INFINITY;
  /** When `value` was set: the regrowth counts from here. */
  protected setAt = 0;
  /** When the limit was last cut: answers to attempts sent before it say nothing of the new limit. */
  private cutAt = Number.NEGATIVE_INFINITY;

  constructor(protected readonly options: LimitOptions) {}

  /** True while no limit is in force (the common case: one comparison, no clock read). */
  get lifted(): boolean {
    return this.value === Number.POSITIVE_INFINITY;
  }

  /** The limit at `now`, its regrowth since the last change included. */
  current(now: number): number {
    if (this.lifted) return this.value;
    const grown = this.value * 2 ** (Math.max(0, now - this.setAt) / this.options.recoveryMs);
    if (grown < this.options.maxLimit) return grown;
    this.value = Number.POSITIVE_INFINITY;
    return this.value;
  }

  /**
   * An attempt sent at `sentAt` answered late (or not at all) with `inFlight` attempts out, itself
   * included. The limit falls to `decrease` x what was in use (the smaller of the limit and the
   * attempts out), never below `floor`, and at most once per round trip: the late answers of
   * attempts sent before the last cut are old news. Returns whether it cut.
   */
  late(now: number, sentAt: number, inFlight: number, floor: number): boolean {
    if (sentAt < this.cutAt) {
      // Old news for the cut, but news that the queue is still there: the regrowth restarts from
      // now, what it had grown since the last late answer undone. It no longer lowers the limit:
      // since attempts are waited for past their per-try timeout while retries are held back,
      // their late answers come in bursts as a queue drains, and lowering the limit for each
      // held the pods back just as the upstream recovered (docs/overload.md).
      if (!this.lifted) this.setAt = now;
      return false;
    }
    const limit = this.current(now);
    const cut = Math.max(floor, this.options.minLimit, Math.min(limit, inFlight) * this.options.decrease);
    this.set(now, Math.min(limit, cut));
    this.cutAt = now;
    return true;
  }

  /**
   * An attempt was waited for past its per-try timeout (retries held back) and ended without an
   * answer: whatever was sent since is queued behind more than a whole deadline of work. The
   * limit falls to a tenth of one attempt (or of itself, if lower), and its regrowth restarts.
   */
  waitedInVain(now: number): void {
    if (this.lifted) return;
    this.set(now, Math.max(this.options.minLimit, Math.min(this.current(now), 1) * WAITED_IN_VAIN));
  }

  /** An attempt sent at `sentAt` (after the last cut) answered in time: the limit grows. */
  onTime(now: number, sentAt: number): void {
    if (this.lifted || sentAt < this.cutAt) return;
    const limit = this.current(now);
    this.set(now, limit < 1 ? limit * GROW_BELOW_ONE : limit + GROW_STEP);
  }

  protected set(now: number, value: number): void {
    this.value = value >= this.options.maxLimit ? Number.POSITIVE_INFINITY : value;
    this.setAt = now;
  }
}

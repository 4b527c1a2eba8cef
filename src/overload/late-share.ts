/**
 * The share of late answers among the answers of the last one to two windows (two tumbling
 * buckets: the current one and the one before), so that one late answer among many in time (a
 * request that hangs, a lost packet) is told from a queue, where most answers are late.
 * Counters only: no allocation per answer.
 */
export class LateShare {
  private start = Number.NEGATIVE_INFINITY;
  private late = 0;
  private total = 0;
  private previousLate = 0;
  private previousTotal = 0;

  constructor(private readonly windowMs: number) {}

  /** Records one answer at `now`; returns the share of late answers, this one included. */
  record(now: number, late: boolean): number {
    if (now - this.start >= this.windowMs) {
      // A gap of two windows or more leaves nothing of before.
      const adjacent = now - this.start < 2 * this.windowMs;
      this.previousLate = adjacent ? this.late : 0;
      this.previousTotal = adjacent ? this.total : 0;
      this.late = 0;
      this.total = 0;
      this.start = now;
    }
    this.total += 1;
    if (late) this.late += 1;
    return (this.late + this.previousLate) / (this.total + this.previousTotal);
  }
}

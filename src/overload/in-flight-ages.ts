/**
 * When the attempts in flight were admitted, oldest first, so that an attempt that has waited
 * longer than "late" is known to be late before its answer or its timeout comes. In front of a
 * queue that is the first sign of it: the attempts sent in the first second of an overload would
 * otherwise all be sent blind, and time out together (ten of them in a row open the breaker).
 *
 * A ring of times (grown by doubling, never shrunk: no allocation per attempt once warm). Attempts
 * end in any order but the ring forgets the oldest one each time, so what it holds is never older
 * than what is really in flight: it may miss an old attempt hanging among fast ones (its timeout
 * still reports it), never invent one.
 */
export class InFlightAges {
  private times = new Float64Array(16);
  private head = 0;
  private size = 0;
  /** The oldest `aged` entries were already reported late. */
  private aged = 0;

  /** An attempt admitted at `now`. */
  add(now: number): void {
    if (this.size === this.times.length) this.grow();
    this.times[(this.head + this.size) % this.times.length] = now;
    this.size += 1;
  }

  /** An attempt ended; returns whether the entry forgotten had already been reported late. */
  remove(): boolean {
    if (this.size === 0) return false;
    this.head = (this.head + 1) % this.times.length;
    this.size -= 1;
    if (this.aged === 0) return false;
    this.aged -= 1;
    return true;
  }

  /**
   * The admission time of the oldest attempt in flight since `lateMs` or longer and not yet
   * reported, now reported; undefined when there is none.
   */
  nextLate(now: number, lateMs: number): number | undefined {
    if (this.aged === this.size) return undefined;
    const at = this.times[(this.head + this.aged) % this.times.length] as number;
    if (now - at < lateMs) return undefined;
    this.aged += 1;
    return at;
  }

  private grow(): void {
    const bigger = new Float64Array(this.times.length * 2);
    for (let i = 0; i < this.size; i++) bigger[i] = this.times[(this.head + i) % this.times.length] as number;
    this.times = bigger;
    this.head = 0;
  }
}

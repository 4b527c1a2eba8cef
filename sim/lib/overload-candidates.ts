import { ConcurrencyLimit, type LimitOptions } from "../../src/overload/concurrency-limit.js";
import { type OverloadOptions, OverloadProtection } from "../../src/overload/overload-protection.js";
import type { Clock, Random } from "../../src/retry/clock.js";

// Other ways of moving overload protection's limit below one attempt, compared with the default in
// the fleet simulator and not adopted (docs/overload-tried.md). Above one attempt they behave as
// the default (lifted while on time, the quarter-of-late rule, lateness in flight).

/**
 * Below one attempt, the limit as the probability of sending while nothing is in flight (the rule
 * before one attempt at a time): a request it turns away gets 503 even when the upstream's queue
 * would have answered it within its deadline.
 */
export class ProbabilityBelowOne extends OverloadProtection {
  constructor(
    options: OverloadOptions,
    clock: Clock,
    private readonly random: Random,
    limit?: ConcurrencyLimit,
  ) {
    super(options, clock, limit);
  }

  protected override fits(limit: number): boolean {
    if (limit >= 1) return super.fits(limit);
    return this.inFlight === 0 && this.random() < limit;
  }
}

/**
 * Below one attempt, the SRE book's client-side throttle with "accepted" meaning answered before
 * the late mark: the chance of sending is (k x in-time answers + 1) / (requests + 1), both
 * decayed exponentially over `windowMs`. An answer in under `fastMs` counts as `fastWeight`
 * (billing is well: no answer of the drop comes in under its 500-ms service time). The limit
 * stays below one, without regrowth by the clock, until that chance reaches one.
 */
export class InTimeRatioLimit extends ConcurrencyLimit {
  private requests = 0;
  private inTime = 0;
  private at = 0;
  private below = false;

  constructor(
    options: LimitOptions,
    private readonly ratio: { windowMs: number; k: number; fastMs: number; fastWeight: number },
  ) {
    super(options);
  }

  /** A client request asked to go (admitted or not); counted by `InTimeRatioProtection`. */
  request(now: number): void {
    this.decay(now);
    this.requests += 1;
  }

  override current(now: number): number {
    if (!this.below) return super.current(now);
    this.decay(now);
    const p = (this.ratio.k * this.inTime + 1) / (this.requests + 1);
    if (p < 1) return Math.max(this.options.minLimit, p);
    this.below = false;
    this.set(now, 1);
    return 1;
  }

  override late(now: number, sentAt: number, inFlight: number, floor: number): boolean {
    const cut = super.late(now, sentAt, inFlight, floor);
    if (cut && this.value < 1) {
      // The queue is there: what was answered in time before says nothing any more.
      this.below = true;
      this.inTime = 0;
    }
    return cut;
  }

  override onTime(now: number, sentAt: number): void {
    this.decay(now);
    this.inTime += now - sentAt < this.ratio.fastMs ? this.ratio.fastWeight : 1;
    if (!this.below) super.onTime(now, sentAt);
  }

  private decay(now: number): void {
    if (now <= this.at) return;
    const f = Math.exp(-(now - this.at) / this.ratio.windowMs);
    this.requests *= f;
    this.inTime *= f;
    this.at = now;
  }
}

/**
 * The limit below one as a probability, moved by an `InTimeRatioLimit` that is told of every
 * client request before it is admitted (a subclass, so it stays the real policy in every other
 * call the data path makes).
 */
export class InTimeRatioProtection extends ProbabilityBelowOne {
  constructor(
    options: OverloadOptions,
    private readonly now: Clock,
    random: Random,
    private readonly ratioLimit: InTimeRatioLimit,
  ) {
    super(options, now, random, ratioLimit);
  }

  override admitFirst(): boolean {
    this.ratioLimit.request(this.now());
    return super.admitFirst();
  }
}

import type { Clock } from "../retry/clock.js";
import type { OverloadGate } from "../retry/overload-gate.js";
import { ConcurrencyLimit, type LimitOptions } from "./concurrency-limit.js";
import { InFlightAges } from "./in-flight-ages.js";
import { LateMark } from "./late-mark.js";
import { LateShare } from "./late-share.js";

// A late answer cuts the limit only when at least this share of the recent answers were late: a
// queue makes most answers late; a request that hangs among many answered in time is no queue.
const LATE_SHARE_TO_CUT = 0.25;

export interface OverloadOptions extends LimitOptions {
  /** OVERLOAD_PROTECTION: off admits everything (the in-flight count is still kept, for the gauge). */
  readonly enabled: boolean;
  /**
   * The base late mark: an attempt with no response headers after this long is late, answered or
   * not, the sign of a queue in front of the upstream. A fraction of PER_TRY_TIMEOUT_MS, the time
   * after which the caller gives up anyway. The mark in use (late-mark.ts) is the later of this and
   * twice the upstream's usual latency, never past the per-try timeout, and the per-try timeout
   * itself until that latency is known.
   */
  readonly lateMs: number;
  /**
   * PER_TRY_TIMEOUT_MS: the late mark follows a steadily slow upstream up to it (late-mark.ts).
   * Absent, the mark stays at `lateMs` (the policy's unit tests of the other rules).
   */
  readonly perTryTimeoutMs?: number | undefined;
  /** Retries go only while the attempts in flight are under this share of the limit. */
  readonly retryShare: number;
  /**
   * OVERLOAD_BLIND_RETRIES: false (off) retries a timed-out attempt only when another attempt was
   * answered in time while it was out; otherwise it is waited for until the deadline. Absent or
   * true (on, the default): a timeout is retried whatever this sidecar last heard.
   */
  readonly blindRetries?: boolean | undefined;
}

/**
 * Overload protection of one upstream (all routes, all endpoints): it counts the attempts in
 * flight, sees each one end, and answers "may this first attempt go?" and "may this retry go?".
 * A limit of one attempt or more admits while fewer are in flight; a limit below one admits one
 * attempt at a time, with no retry, and that attempt is waited for until the request's deadline
 * (`waitsPastTimeout`), so that its work in the upstream's queue is not lost. Retries go only
 * while the attempts in flight are well under the limit, so they are held back before any first
 * attempt is. Pure: injected clock.
 *
 * Every attempt admitted (`admitFirst`, `admitRetry`) must be given back once: `finished` when its
 * outcome is known (its latency is a sample), `release` when it says nothing (the client left).
 */
export class OverloadProtection implements OverloadGate {
  /** Attempts admitted whose outcome is not known yet. */
  inFlight = 0;
  private readonly limit: ConcurrencyLimit;
  private readonly lateShare: LateShare;
  private readonly lateMark: LateMark;
  /** A first attempt was refused since the last cut: the limit binds (and may fall below one). */
  private refused = false;
  /** A limit was in force at the last first attempt (admitted or not). */
  private limited = false;
  private readonly ages = new InFlightAges();
  /** The latest send time among the attempts answered in time (see `overtaken`). */
  private newestOnTime = Number.NEGATIVE_INFINITY;
  /** When the last attempt answered in time ended (see `blindRetries`). */
  private lastOnTimeAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: OverloadOptions,
    private readonly clock: Clock,
    // Another way of moving the limit, for the fleet simulator's comparisons; the sidecar uses this one.
    limit: ConcurrencyLimit = new ConcurrencyLimit(options),
  ) {
    this.limit = limit;
    this.lateShare = new LateShare(options.lateMs);
    this.lateMark = new LateMark(options.lateMs, options.perTryTimeoutMs ?? options.lateMs);
  }

  /** The limit now (Infinity while none is in force or protection is off). */
  currentLimit(): number {
    return this.options.enabled ? this.limit.current(this.clock()) : Number.POSITIVE_INFINITY;
  }

  /** May a request's first attempt go now? If so, it holds a place in flight. */
  admitFirst(): boolean {
    if (!this.options.enabled) {
      this.inFlight += 1;
      return true;
    }
    const now = this.clock();
    this.reportAged(now);
    const limit = this.limit.current(now);
    const lifted = limit === Number.POSITIVE_INFINITY;
    if (lifted && this.limited) {
      // Lifted again: what turned requests away before says nothing of the next episode.
      this.refused = false;
    }
    this.limited = !lifted;
    if (lifted || this.fits(limit)) {
      this.admitted(now);
      return true;
    }
    this.refused = true;
    return false;
  }

  /** May a retry go now? Asks only (the retry loop asks before its wait, and admits after it). */
  retryAllowed(): boolean {
    if (!this.options.enabled || this.limit.lifted) return true;
    return this.retryFits(this.inFlight);
  }

  /** Admits a retry about to be sent, if `retryAllowed`; it then holds a place in flight. */
  admitRetry(): boolean {
    if (!this.options.enabled) {
      this.inFlight += 1;
      return true;
    }
    const now = this.clock();
    this.reportAged(now);
    if (!this.retryAllowed()) return false;
    this.admitted(now);
    return true;
  }

  /**
   * The attempt admitted at `sentAt` had its outcome at `now`: response headers or a failure.
   * `waitedInVain`: it was waited for past its per-try timeout and got no answer.
   */
  finished(sentAt: number, now: number, waitedInVain = false): void {
    const out = this.inFlight;
    this.inFlight = out - 1;
    if (!this.options.enabled) return;
    if (waitedInVain && !this.overtaken(sentAt)) this.limit.waitedInVain(now);
    const reported = this.ages.remove();
    const late = now - sentAt >= this.lateMark.ms;
    // A late attempt already reported while in flight is not news a second time.
    if (!(late && reported)) this.answer(sentAt, now, out, late);
    if (this.limit.lifted) this.lateMark.learn(now, now - sentAt);
    this.reportAged(now);
  }

  /**
   * An attempt at its per-try timeout is waited for rather than cut while its retry would be held
   * back: the timeout is there to make room for a retry, and there would be none. In front of a
   * queue the upstream does the attempt's work anyway: cut, the attempt is a 504 and that work is
   * lost; waited for, it may be answered within the request's deadline. A lone caller keeps its
   * retries (the limit stays at one or more without other requests), so against a hung upstream
   * its attempts are cut and retried as ever, and its timeouts reach the circuit breaker; unless
   * blind retries are off and nothing was answered in time since `sentAt` (see `blind`).
   */
  waitsPastTimeout(sentAt: number): boolean {
    if (!this.options.enabled) return false;
    // The attempts in flight past the late mark (this one among them, even if the clock reads a
    // millisecond short of its timeout and the mark is the timeout itself) are late now.
    this.reportAged(Math.max(this.clock(), sentAt + this.lateMark.ms));
    if (this.blind(sentAt)) return true;
    if (this.limit.lifted) return false;
    // The attempt at its timeout still holds its place: its retry would be asked once it gave it back.
    return !this.retryFits(this.inFlight - 1);
  }

  /** The attempt admitted ended without saying anything of the upstream (the client left). */
  release(): void {
    this.inFlight -= 1;
    if (this.options.enabled) this.ages.remove();
  }

  /**
   * Attempts in flight since the late mark or longer are late now: no need to wait for their timeout.
   * Not while one attempt is alone in flight (and nothing was turned away): alone, it cannot be
   * told from one hung instance or connection, and a limit cut for it would turn away the next
   * request, the one that could show it (answered in time, it overtakes the hung one). Its own
   * outcome reports it. With a hung instance of three, the cut in flight made the fleet
   * simulator's 10 pods shed up to a tenth of their requests (docs/overload.md).
   */
  private reportAged(now: number): void {
    if (this.inFlight <= 1 && !this.refused) return;
    for (let sentAt = this.ages.nextLate(now, this.lateMark.ms); sentAt !== undefined; ) {
      this.answer(sentAt, now, this.inFlight, true);
      sentAt = this.ages.nextLate(now, this.lateMark.ms);
    }
  }

  private admitted(now: number): void {
    this.inFlight += 1;
    this.ages.add(now);
  }

  /** One attempt known to be on time or late, with `out` attempts in flight (itself included). */
  private answer(sentAt: number, now: number, out: number, late: boolean): void {
    if (late && this.overtaken(sentAt)) return;
    const share = this.lateShare.record(now, late);
    if (!late) {
      if (sentAt > this.newestOnTime) this.newestOnTime = sentAt;
      this.lastOnTimeAt = now;
      this.limit.onTime(now, sentAt);
      return;
    }
    if (share < LATE_SHARE_TO_CUT) return;
    // Below one attempt in flight only on evidence from other requests: this pod has other attempts
    // out, or the limit turned requests away. A caller that sends one request after the other (a
    // test client, a cron job) against a hung upstream builds no queue: it keeps its retries, and its
    // timeouts reach the circuit breaker, whose job it is to stop traffic to a dead upstream.
    // Counting a second late request as such evidence cut the breaker off for good (every later
    // request shed, so never ten failures in a row) and moved the simulator by under a point
    // (docs/overload.md).
    const others = out > 1 || this.refused;
    if (this.limit.late(now, sentAt, out, others ? this.options.minLimit : 1)) this.refused = false;
  }

  /**
   * An attempt sent after this one was answered in time: this one is not waiting in a queue that
   * every attempt waits in (a queue answers in order), but on something of its own, a hung
   * instance or connection, which the retry, the endpoint's ejection and the breaker deal with.
   * Its lateness says nothing of the upstream's load.
   */
  private overtaken(sentAt: number): boolean {
    return sentAt < this.newestOnTime;
  }

  /**
   * Blind retries off, and nothing answered in time since the attempt at its timeout was sent:
   * this sidecar cannot tell a queue in front of every instance (where a retry is more load) from
   * one hung instance (where it is the cure). A pod that sends one request at a time is always
   * here: at 1,000 such pods the retries of a capacity drop's timeouts are what keep the queue up
   * (docs/overload.md, "The bound").
   */
  private blind(sentAt: number): boolean {
    // Not `<`: the clock counts whole milliseconds, and the answer that a caller sending one
    // request after the other got just before this send often bears the same one.
    return this.options.blindRetries === false && this.lastOnTimeAt <= sentAt;
  }

  /** A retry may go with `inFlight` attempts out: the limit is one or more, and well above them. */
  private retryFits(inFlight: number): boolean {
    const limit = this.limit.current(this.clock());
    return limit >= 1 && inFlight < limit * this.options.retryShare;
  }

  /**
   * May a first attempt go under `limit`? Below one attempt: one at a time. Admitting with the
   * limit as a probability instead (the rule before) did no better in the fleet simulator at 10 to
   * 1,000 pods, and recovered later (30 pods: 2.0 s against 1.45 s, 20 seeds): the attempt it
   * turns away after the drop would have been answered within its deadline (docs/overload.md).
   * Protected: the simulator compares that rule (a subclass).
   */
  protected fits(limit: number): boolean {
    if (limit >= 1) return this.inFlight < limit;
    return this.inFlight === 0;
  }
}

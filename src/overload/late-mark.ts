// The upstream's usual latency is known after this many answers, over at least two per-try
// timeouts (concurrent requests answer fastest first: a mean of the first few alone is too low).
// Until then only a per-try timeout is late, so a sidecar started in front of a steadily slow
// upstream does not take its first concurrent requests for a queue. Their plain mean starts the
// average.
export const ANSWERS_TO_KNOW = 10;
const TIMEOUTS_TO_KNOW = 2;
// Then the average follows a new level this slowly: a queue builds in seconds, and is judged
// against what came before it.
const USUAL_TIME_CONSTANT_MS = 30_000;
// An answer is late only past this many times the usual latency (or the base mark, if later).
const USUAL_FACTOR = 2;

/**
 * When an attempt counts as late. The base mark is OVERLOAD_LATE_RATIO × PER_TRY_TIMEOUT_MS. An
 * upstream whose usual answers come near or past that, steadily (a slow one, or a jittery one whose
 * slowest answers pass it), is healthy: nothing of it is late before twice its usual latency, nor
 * before the per-try timeout once that is further. "Usual" is a time-weighted average of the
 * latencies answered while no limit is in force, so a queue that builds while the limit holds
 * never teaches it, and one that builds in seconds moves it little. Pure: the caller passes the
 * times.
 */
export class LateMark {
  private usual = 0;
  private answers = 0;
  private firstAt = 0;
  private learntAt = 0;
  private known = false;
  /** The mark now, ms. */
  ms: number;

  constructor(
    private readonly baseMs: number,
    private readonly timeoutMs: number,
  ) {
    this.ms = Math.max(baseMs, timeoutMs);
  }

  /** An attempt sent `latencyMs` before `now` was answered while no limit was in force. */
  learn(now: number, latencyMs: number): void {
    if (latencyMs >= this.timeoutMs) return; // a timeout is no latency
    this.answers += 1;
    if (this.answers === 1) this.firstAt = now;
    const weight = this.known
      ? 1 - Math.exp(-(now - this.learntAt) / USUAL_TIME_CONSTANT_MS)
      : 1 / this.answers;
    this.usual += (latencyMs - this.usual) * weight;
    this.learntAt = now;
    this.known ||= this.answers >= ANSWERS_TO_KNOW && now - this.firstAt >= TIMEOUTS_TO_KNOW * this.timeoutMs;
    if (this.known) this.ms = Math.max(this.baseMs, Math.min(USUAL_FACTOR * this.usual, this.timeoutMs));
  }
}

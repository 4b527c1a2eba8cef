import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";

/** A process that could not run its timers within this is too late for 10-100 ms service times. */
export const STALL_MS = 250;

/**
 * How late a process's event loop ran, second by second since `start`: Node's event-loop delay
 * histogram, read and reset once a second. Its maximum alone cannot tell a stall while a hundred
 * sidecars warm up in the load's first seconds, well before the trigger, from one during the
 * trigger, where it changes the figures.
 */
export class StallWatch {
  private readonly maxBySecond: number[] = [];
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;

  start(): void {
    this.startedAt = performance.now();
    this.delay.enable();
    this.timer = setInterval(() => this.closeSecond(1), 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.closeSecond(0);
    this.delay.disable();
  }

  /** The longest delay so far, ms (the second still open included). */
  maxMs(): number {
    return Math.max(0, this.delay.max / 1e6, ...this.maxBySecond.filter((v) => v !== undefined));
  }

  /** The seconds (since `start`) in which the loop was more than `ms` late. */
  secondsOver(ms = STALL_MS): number[] {
    return this.maxBySecond.flatMap((late, second) => (late > ms ? [second] : []));
  }

  /**
   * Files the delays since the last call under a second since `start`, by the clock (a stalled
   * timer still files them where they belong): `back` 1 for the once-a-second timer, which fires
   * just after the second it closes (1001-1004 ms, measured), 0 for the second still open at stop.
   */
  private closeSecond(back: 0 | 1): void {
    const second = Math.max(0, Math.floor((performance.now() - this.startedAt) / 1000) - back);
    const max = this.delay.max / 1e6;
    this.maxBySecond[second] = Math.max(this.maxBySecond[second] ?? 0, max);
    this.delay.reset();
  }
}

/** "0–3, 7": runs of consecutive seconds, for the report. */
export function secondRanges(seconds: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < seconds.length; ) {
    let j = i;
    while (j + 1 < seconds.length && seconds[j + 1] === (seconds[j] as number) + 1) j++;
    runs.push(i === j ? `${seconds[i]}` : `${seconds[i]}–${seconds[j]}`);
    i = j + 1;
  }
  return runs.join(", ");
}

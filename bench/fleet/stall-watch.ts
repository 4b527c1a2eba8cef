/** A process that could not run its timers within this is too late for 10-100 ms service times. */
export const STALL_MS = 250;

const TICK_MS = 50;

/**
 * In which seconds of a run a process's event loop stalled: a 50-ms interval that notes, for each
 * second since `start`, how late its tick ran. The maximum alone (monitorEventLoopDelay) cannot
 * tell a stall while a hundred sidecars warm up in the load's first seconds, well before the
 * trigger, from one during the trigger, where it changes the figures.
 */
export class StallWatch {
  private readonly lateBySecond: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    const t0 = performance.now();
    let last = t0;
    this.timer = setInterval(() => {
      const now = performance.now();
      const second = Math.floor((now - t0) / 1000);
      this.lateBySecond[second] = Math.max(this.lateBySecond[second] ?? 0, now - last - TICK_MS);
      last = now;
    }, TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The seconds (since `start`) in which a tick came more than `ms` late. */
  secondsOver(ms = STALL_MS): number[] {
    return this.lateBySecond.flatMap((late, second) => (late > ms ? [second] : []));
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

import { setImmediate as nextMacrotask } from "node:timers/promises";

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
  cancelled: boolean;
}

/**
 * Virtual time: a clock, timers in a binary heap ordered by (time, insertion order), and a run
 * loop that fires them one at a time. The code under test is async (the retry loop awaits its
 * attempts and sleeps), so after each timer the loop yields one macrotask, which lets every
 * microtask that timer set off run to completion before the next timer fires: virtual time only
 * moves when the real code has nothing left to do, and the order of events depends only on the
 * seed.
 */
export class VirtualTime {
  private heap: Timer[] = [];
  private seq = 0;
  private current = 0;

  readonly clock = (): number => this.current;

  /** Runs `fire` after `delayMs` of virtual time; returns a cancel function. */
  after(delayMs: number, fire: () => void): () => void {
    const timer: Timer = { at: this.current + Math.max(0, delayMs), seq: this.seq++, fire, cancelled: false };
    this.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** The retry loop's Sleep: resolves after `ms`, or at once when `signal` aborts. */
  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const cancel = this.after(ms, () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
      const onAbort = () => {
        cancel();
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });

  /** Fires timers in order until none is left before `untilMs`; the clock ends at `untilMs`. */
  async run(untilMs: number): Promise<void> {
    await nextMacrotask();
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || next.at > untilMs) break;
      this.pop();
      if (next.cancelled) continue;
      this.current = next.at;
      next.fire();
      await nextMacrotask();
    }
    this.current = untilMs;
  }

  private push(timer: Timer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent] as Timer)) break;
      heap[i] = heap[parent] as Timer;
      i = parent;
    }
    heap[i] = timer;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop() as Timer;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right] as Timer, heap[left] as Timer) ? right : left;
      if (!before(heap[child] as Timer, last)) break;
      heap[i] = heap[child] as Timer;
      i = child;
    }
    heap[i] = last;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

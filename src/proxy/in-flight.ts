/** What shutdown needs of a request in flight: a way to abort it (an AbortController will do). */
export interface Abortable {
  abort(reason?: unknown): void;
}

/**
 * The requests being served, so that shutdown can wait for them to finish and, when the grace
 * period is over, abort the rest (their waits and attempts stop at once).
 */
export class InFlight {
  private readonly active = new Set<Abortable>();
  private idleWaiters: Array<() => void> = [];

  get size(): number {
    return this.active.size;
  }

  /** Registers a request, until `remove` is told it has its answer. */
  add(controller: Abortable): void {
    this.active.add(controller);
  }

  remove(controller: Abortable): void {
    if (this.active.delete(controller) && this.active.size === 0) this.wakeIdle();
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Aborts every request in flight with `reason`, which their signals carry (the abort's cause). */
  abortAll(reason: unknown): void {
    for (const controller of this.active) controller.abort(reason);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** What shutdown needs of a request in flight: a way to abort it, and a slot for InFlight's list. */
export interface Abortable {
  abort(reason?: unknown): void;
  /** Where InFlight keeps it; -1 when it is not in flight. Written only by InFlight. */
  inFlightSlot: number;
}

/**
 * The requests being served, so that shutdown can wait for them to finish and, when the grace
 * period is over, abort the rest (their waits and attempts stop at once). A plain array in which
 * each request knows its slot (a removal moves the last one into it) rather than a `Set`: with
 * this `Set` and the drain's (server/proxy-listener.ts), V8 promoted ≈ 2.3 KB of every finished
 * request out of the young generation, with the arrays 0.15 KB, as much as a bare forwarder
 * (`bench/tools/gc-per-request.sh`): a fifth of the CPU per request (bench/README.md).
 */
export class InFlight {
  private readonly active: Abortable[] = [];
  private idleWaiters: Array<() => void> = [];

  get size(): number {
    return this.active.length;
  }

  /** Registers a request, until `remove` is told it has its answer. */
  add(controller: Abortable): void {
    if (controller.inFlightSlot !== -1) return;
    controller.inFlightSlot = this.active.length;
    this.active.push(controller);
  }

  remove(controller: Abortable): void {
    const slot = controller.inFlightSlot;
    if (slot === -1 || this.active[slot] !== controller) return;
    controller.inFlightSlot = -1;
    const last = this.active.pop() as Abortable;
    if (last !== controller) {
      this.active[slot] = last;
      last.inFlightSlot = slot;
    }
    if (this.active.length === 0) this.wakeIdle();
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.active.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Aborts every request in flight with `reason`, which their signals carry (the abort's cause). */
  abortAll(reason: unknown): void {
    // An abort may end its request, which then leaves the list: go through a copy.
    for (const controller of this.active.slice()) controller.abort(reason);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

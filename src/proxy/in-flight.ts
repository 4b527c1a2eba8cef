import { SlotList } from "../runtime/slot-list.js";

/** What shutdown needs of a request in flight: a way to abort it, and a slot for InFlight's list. */
export interface Abortable {
  abort(reason?: unknown): void;
  /** Where InFlight keeps it; -1 when it is not in flight. Written only by InFlight. */
  inFlightSlot: number;
}

/**
 * The requests being served, so that shutdown can wait for them to finish and, when the grace
 * period is over, abort the rest (their waits and attempts stop at once). In a SlotList, not a
 * `Set` (runtime/slot-list.ts says why).
 */
export class InFlight {
  private readonly active = new SlotList<Abortable>("inFlightSlot");
  private idleWaiters: Array<() => void> = [];

  get size(): number {
    return this.active.size;
  }

  /** Registers a request, until `remove` is told it has its answer. */
  add(controller: Abortable): void {
    this.active.add(controller);
  }

  remove(controller: Abortable): void {
    if (this.active.remove(controller) && this.active.size === 0) this.wakeIdle();
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Aborts every request in flight with `reason`, which their signals carry (the abort's cause). */
  abortAll(reason: unknown): void {
    // An abort may end its request, which then leaves the list: go through a copy.
    for (const controller of this.active.members.slice()) controller.abort(reason);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

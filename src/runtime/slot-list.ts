/**
 * A list any member of which leaves in constant time: each member keeps its index in the list
 * under `key` (a removal moves the last member into the gap) and -1 (or nothing) while it is not
 * in it. Not a `Set`: with the requests in flight and the unanswered responses kept in `Set`s, V8
 * promoted ≈ 2.3 KB of every finished request out of the young generation, with these lists
 * 0.15 KB, as much as a bare forwarder (`bench/tools/gc-per-request.sh`; bench/README.md).
 * `key` is a field the members' class declares (so that setting it changes no object's shape) or
 * a symbol of the list's owner.
 */
export class SlotList<T extends object> {
  /** The members, in no particular order; read-only outside this class. */
  readonly members: T[] = [];

  constructor(private readonly key: PropertyKey) {}

  get size(): number {
    return this.members.length;
  }

  /** Adds `member` unless it is in the list already. */
  add(member: T): void {
    if (this.has(member)) return;
    this.setSlot(member, this.members.length);
    this.members.push(member);
  }

  /** Removes `member`; false if it was not in the list. */
  remove(member: T): boolean {
    if (!this.has(member)) return false;
    const slot = this.slotOf(member) as number;
    this.setSlot(member, -1);
    const last = this.members.pop() as T;
    if (last !== member) {
      this.members[slot] = last;
      this.setSlot(last, slot);
    }
    return true;
  }

  private has(member: T): boolean {
    const slot = this.slotOf(member);
    return slot !== undefined && slot >= 0 && this.members[slot] === member;
  }

  private slotOf(member: T): number | undefined {
    return (member as Record<PropertyKey, number | undefined>)[this.key];
  }

  private setSlot(member: T, slot: number): void {
    (member as Record<PropertyKey, number | undefined>)[this.key] = slot;
  }
}

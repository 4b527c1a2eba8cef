import { describe, expect, it } from "vitest";
import { SlotList } from "../../src/runtime/slot-list.js";

// The list the requests in flight and the unanswered responses live in: constant-time removal
// by the index each member carries.

describe("SlotList", () => {
  it("adds once, removes any member, and keeps every other one findable after the swap", () => {
    const list = new SlotList<{ slot: number }>("slot");
    const all = Array.from({ length: 5 }, () => ({ slot: -1 }));
    for (const m of all) list.add(m);
    list.add(all[0] as { slot: number }); // already in: not twice
    expect(list.size).toBe(5);
    expect(list.remove(all[1] as { slot: number })).toBe(true); // the last moves into its slot
    expect(list.remove(all[1] as { slot: number })).toBe(false);
    for (const m of [all[0], all[2], all[3], all[4]] as { slot: number }[]) {
      expect(list.members[m.slot]).toBe(m);
    }
    for (const m of all) list.remove(m);
    expect(list.size).toBe(0);
    for (const m of all) expect(m.slot).toBe(-1);
  });

  it("a member of two lists keeps a slot in each (a symbol key), and one list's index says nothing to the other", () => {
    const a = new SlotList<object>(Symbol("a"));
    const b = new SlotList<object>(Symbol("b"));
    const x = {};
    const y = {};
    a.add(x);
    b.add(y);
    b.add(x);
    expect(a.remove(y)).toBe(false); // y's slot 0 is b's, and a's slot 0 holds x
    expect(a.remove(x)).toBe(true);
    expect(b.members).toEqual([y, x]);
    expect(b.remove(x)).toBe(true);
    expect(b.members).toEqual([y]);
  });
});

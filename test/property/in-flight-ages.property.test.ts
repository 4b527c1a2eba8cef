import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InFlightAges } from "../../src/overload/in-flight-ages.js";

// Attempts added at rising times and ended in any order: the ring never reports more attempts late
// than are in flight, never one younger than lateMs, and never one twice.

type Op = { kind: "add"; waitMs: number } | { kind: "remove" } | { kind: "check"; waitMs: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("add" as const), waitMs: fc.nat({ max: 500 }) }),
  fc.constant<Op>({ kind: "remove" }),
  fc.record({ kind: fc.constant("check" as const), waitMs: fc.nat({ max: 2000 }) }),
);

describe("InFlightAges (property)", () => {
  it("reports each attempt in flight at most once, only after lateMs, never more than are in flight", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer({ min: 1, max: 1000 }), (ops, lateMs) => {
        const ages = new InFlightAges();
        let now = 0;
        const times: number[] = []; // what is in flight, oldest first (the ring forgets the oldest)
        let reported = 0;
        for (const o of ops) {
          if (o.kind === "add") {
            now += o.waitMs;
            ages.add(now);
            times.push(now);
          } else if (o.kind === "remove") {
            if (times.length === 0) continue;
            times.shift();
            if (ages.remove()) reported -= 1;
          } else {
            now += o.waitMs;
            for (let at = ages.nextLate(now, lateMs); at !== undefined; at = ages.nextLate(now, lateMs)) {
              expect(now - at).toBeGreaterThanOrEqual(lateMs);
              expect(times).toContain(at);
              reported += 1;
            }
            // Everything in flight since lateMs or longer is reported by now.
            expect(reported).toBe(times.filter((t) => now - t >= lateMs).length);
          }
          expect(reported).toBeGreaterThanOrEqual(0);
          expect(reported).toBeLessThanOrEqual(times.length);
        }
      }),
    );
  });

  it("keeps every time, in order, as the ring grows past its first size from the middle", () => {
    const ages = new InFlightAges();
    for (let t = 0; t < 5; t++) ages.add(t);
    for (let i = 0; i < 3; i++) ages.remove(); // the ring starts at its fourth slot now
    for (let t = 5; t < 40; t++) ages.add(t); // 37 in flight: grown twice
    const late: number[] = [];
    for (let at = ages.nextLate(1000, 100); at !== undefined; at = ages.nextLate(1000, 100)) late.push(at);
    expect(late).toEqual(Array.from({ length: 37 }, (_, i) => i + 3));
  });
});

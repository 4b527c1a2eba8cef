import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RetryBudget } from "../../src/retry/retry-budget.js";

function budgetAt(ratio: number, minPerSec: number) {
  const clock = { now: 1_000_000 };
  const budget = new RetryBudget({ ratio, minPerSec }, () => clock.now);
  return { clock, budget };
}

describe("retry budget (10 s sliding window)", () => {
  it("allows minPerSec x 10 retries with no traffic at all", () => {
    const { budget } = budgetAt(0.2, 1);
    const granted = Array.from({ length: 15 }, () => budget.withdraw()).filter(Boolean).length;
    expect(granted).toBe(10);
  });

  it("adds ratio x requests seen in the window", () => {
    const { budget } = budgetAt(0.2, 0);
    for (let i = 0; i < 100; i++) budget.deposit();
    const granted = Array.from({ length: 50 }, () => budget.withdraw()).filter(Boolean).length;
    expect(granted).toBe(20);
  });

  it("refills as old requests and retries leave the window", () => {
    const { clock, budget } = budgetAt(0, 0.1); // one retry per 10 s
    expect(budget.withdraw()).toBe(true);
    expect(budget.withdraw()).toBe(false);
    clock.now += 9_800;
    expect(budget.withdraw()).toBe(false);
    clock.now += 300;
    expect(budget.withdraw()).toBe(true);
  });

  it("canWithdraw asks without spending", () => {
    const { budget } = budgetAt(0, 0.1);
    expect(budget.canWithdraw()).toBe(true);
    expect(budget.canWithdraw()).toBe(true);
    expect(budget.withdraw()).toBe(true);
    expect(budget.canWithdraw()).toBe(false);
  });

  it("grants a retry only while retries < min x 10 + ratio x requests over the last 10 s", () => {
    // The spec's rule, checked at every grant against an independent count of the window
    // (which the budget sees in 100 ms steps: the last 100 steps, the current one included).
    const event = fc.record({
      advanceMs: fc.integer({ min: 0, max: 3000 }),
      kind: fc.constantFrom("request", "retry"),
    });
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(event, { maxLength: 300 }),
        (ratio, minPerSec, events) => {
          const clock = { now: 0 };
          const budget = new RetryBudget({ ratio, minPerSec }, () => clock.now);
          const log: { at: number; kind: string }[] = [];
          for (const e of events) {
            clock.now += e.advanceMs;
            if (e.kind === "request") {
              budget.deposit();
              log.push({ at: clock.now, kind: "request" });
              continue;
            }
            const from = Math.floor(clock.now / 100) * 100 - 9_900;
            const inWindow = log.filter((x) => x.at >= from);
            const retries = inWindow.filter((x) => x.kind === "retry").length;
            const allowed = retries < minPerSec * 10 + ratio * (inWindow.length - retries);
            if (budget.withdraw() !== allowed) return false;
            if (allowed) log.push({ at: clock.now, kind: "retry" });
          }
          return true;
        },
      ),
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CircuitBreaker, type CircuitState } from "../../src/retry/circuit-breaker.js";
import { RetryBudget } from "../../src/retry/retry-budget.js";

// The two shared limits, driven by random sequences of events on a fake clock.

type BudgetStep = { readonly waitMs: number; readonly op: "request" | "retry" };

const budgetSteps = fc.array(
  fc.record({
    // Mostly bursts inside one 100 ms bucket, sometimes across buckets, sometimes past the window.
    waitMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 250 }), fc.integer({ min: 0, max: 12_000 })),
    op: fc.constantFrom<"request" | "retry">("request", "retry", "retry"),
  }),
  { maxLength: 400 },
);

describe("retry budget (RETRY_BUDGET_RATIO, RETRY_BUDGET_MIN_PER_SEC, 10 s window)", () => {
  it("in every window, retries granted < minPerSec x 10 + ratio x requests, and a refusal means the window is full", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        budgetSteps,
        (ratio, minPerSec, start, steps: BudgetStep[]) => {
          let now = start;
          const budget = new RetryBudget({ ratio, minPerSec }, () => now);
          const requests: number[] = [];
          const retries: number[] = [];
          for (const step of steps) {
            now += step.waitMs;
            if (step.op === "request") {
              budget.deposit();
              requests.push(now);
              continue;
            }
            // The window the budget promises: the current 100 ms bucket and the 99 before it.
            const windowStart = Math.floor(now / 100) * 100 - 9_900;
            const inWindow = (t: number) => t >= windowStart;
            const allowance = minPerSec * 10 + ratio * requests.filter(inWindow).length;
            const used = retries.filter(inWindow).length;
            const granted = budget.withdraw();
            expect(granted).toBe(used < allowance);
            if (granted) retries.push(now);
            expect(retries.filter(inWindow).length).toBeLessThanOrEqual(Math.max(used, Math.ceil(allowance)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("with no requests and no floor, nothing is ever granted", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 20_000 }), { maxLength: 50 }), (waits) => {
        let now = 0;
        const budget = new RetryBudget({ ratio: 1, minPerSec: 0 }, () => now);
        for (const wait of waits) {
          now += wait;
          expect(budget.withdraw()).toBe(false);
        }
      }),
    );
  });

  it("a clock that jumps back and forth inside one window never grants more than the window allows", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 9_000 }), retry: fc.boolean() }), {
          maxLength: 200,
        }),
        (steps) => {
          const t0 = 1_000_000;
          let now = t0;
          const budget = new RetryBudget({ ratio: 0, minPerSec: 1 }, () => now); // 10 per window
          let granted = 0;
          for (const step of steps) {
            now = t0 + step.at;
            if (step.retry && budget.withdraw()) granted += 1;
          }
          expect(granted).toBeLessThanOrEqual(10);
        },
      ),
    );
  });
});

const breakerOps = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 1500 }) }),
    fc.constant({ kind: "admit" as const }),
    fc.record({ kind: fc.constant("record" as const), retryable: fc.boolean(), probe: fc.boolean() }),
    fc.record({
      kind: fc.constant("record" as const),
      retryable: fc.constant(true),
      probe: fc.constant(false),
    }),
    fc.constant({ kind: "release" as const }),
  ),
  { maxLength: 300 },
);

describe("circuit breaker state machine (CIRCUIT_FAILURE_THRESHOLD, CIRCUIT_OPEN_MS)", () => {
  it("obeys docs/contract.md 'Circuit breaker' for every sequence of admissions, outcomes and waits", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 2000 }),
        breakerOps,
        (threshold, openMs, ops) => {
          let now = 0;
          const reported: CircuitState[] = [];
          const breaker = new CircuitBreaker(
            { failureThreshold: threshold, openMs },
            () => now,
            (s) => reported.push(s),
          );
          let state: CircuitState = "closed";
          let openedAt = 0;
          let consecutive = 0;
          let probeOut = false;
          for (const op of ops) {
            if (op.kind === "wait") now += op.ms;
            if (state === "open" && now >= openedAt + openMs) state = "half-open";
            if (op.kind === "admit") {
              const admission = breaker.admit();
              if (state === "closed") expect(admission).toEqual({ admitted: true, probe: false });
              else if (state === "half-open" && !probeOut) {
                expect(admission).toEqual({ admitted: true, probe: true });
                probeOut = true;
              } else {
                // Open (or a probe already out): fast 503, Retry-After within the open period.
                expect(admission.admitted).toBe(false);
                if (!admission.admitted) {
                  expect(admission.retryAfterMs).toBeGreaterThanOrEqual(1);
                  expect(admission.retryAfterMs).toBeLessThanOrEqual(openMs);
                  if (state === "open")
                    expect(admission.retryAfterMs).toBe(Math.max(1, openedAt + openMs - now));
                }
              }
            } else if (op.kind === "record") {
              breaker.record(op.retryable, op.probe);
              if (state === "closed") {
                consecutive = op.retryable ? consecutive + 1 : 0;
                if (consecutive >= threshold) {
                  state = "open";
                  openedAt = now;
                }
              } else if (op.probe) {
                // Only the probe's outcome moves a circuit that is not closed.
                probeOut = false;
                if (op.retryable) {
                  state = "open";
                  openedAt = now;
                } else {
                  state = "closed";
                  consecutive = 0;
                }
              }
            } else if (op.kind === "release") {
              breaker.releaseProbe();
              probeOut = false;
            }
            expect(breaker.current()).toBe(state);
            expect(breaker.blocksRetry(false)).toBe(state !== "closed");
            // Every move was reported, once, in order, and the last report is the state now.
            expect(reported.at(-1) ?? "closed").toBe(state);
            for (let i = 1; i < reported.length; i++) expect(reported[i]).not.toBe(reported[i - 1]);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it("never opens before CIRCUIT_FAILURE_THRESHOLD consecutive retryable outcomes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.boolean(), { maxLength: 200 }),
        (threshold, outcomes) => {
          const breaker = new CircuitBreaker({ failureThreshold: threshold, openMs: 1000 }, () => 0);
          let run = 0;
          for (const retryable of outcomes) {
            if (breaker.current() !== "closed") break;
            breaker.record(retryable);
            run = retryable ? run + 1 : 0;
            expect(breaker.current()).toBe(run >= threshold ? "open" : "closed");
          }
        },
      ),
    );
  });

  it("CIRCUIT_FAILURE_THRESHOLD=0: always admits, never blocks, never reports a move", () => {
    fc.assert(
      fc.property(breakerOps, (ops) => {
        let now = 0;
        const reported: CircuitState[] = [];
        const breaker = new CircuitBreaker(
          { failureThreshold: 0, openMs: 10 },
          () => now,
          (s) => reported.push(s),
        );
        for (const op of ops) {
          if (op.kind === "wait") now += op.ms;
          if (op.kind === "admit") expect(breaker.admit()).toEqual({ admitted: true, probe: false });
          if (op.kind === "record") breaker.record(op.retryable);
          if (op.kind === "release") breaker.releaseProbe();
          expect(breaker.blocksRetry(false)).toBe(false);
        }
        expect(reported).toEqual([]);
      }),
    );
  });
});

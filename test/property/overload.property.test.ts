import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type OverloadOptions, OverloadProtection } from "../../src/overload/overload-protection.js";

// Any sequence of arrivals, retries, answers (early or late) and waits: the limit stays within its
// bounds, and what is admitted under a limit never exceeds it.

type Step =
  | { kind: "first" }
  | { kind: "retry" }
  | { kind: "answer"; latencyMs: number }
  | { kind: "leave" }
  | { kind: "wait"; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant<Step>({ kind: "first" }),
  fc.constant<Step>({ kind: "retry" }),
  fc.record({ kind: fc.constant("answer" as const), latencyMs: fc.nat({ max: 3000 }) }),
  fc.constant<Step>({ kind: "leave" }),
  fc.record({ kind: fc.constant("wait" as const), ms: fc.nat({ max: 5000 }) }),
);

const options = fc.record<OverloadOptions>({
  enabled: fc.constant(true),
  lateMs: fc.integer({ min: 50, max: 1000 }),
  decrease: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
  recoveryMs: fc.integer({ min: 10, max: 10_000 }),
  minLimit: fc.double({ min: 0.001, max: 1, noNaN: true }),
  maxLimit: fc.integer({ min: 2, max: 1000 }),
  retryShare: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe("overload protection under any sequence of events", () => {
  it("keeps the limit in [minLimit, maxLimit) or lifted, admits no more than ceil(limit), never counts below 0", () => {
    fc.assert(
      fc.property(options, fc.array(step, { maxLength: 300 }), (o, steps) => {
        let now = 0;
        const policy = new OverloadProtection(o, () => now);
        const out: number[] = []; // send times of the attempts in flight
        for (const s of steps) {
          const limit = policy.currentLimit();
          if (limit !== Number.POSITIVE_INFINITY) {
            expect(limit).toBeGreaterThanOrEqual(o.minLimit - 1e-9);
            expect(limit).toBeLessThan(o.maxLimit);
          }
          if (s.kind === "first" || s.kind === "retry") {
            const admitted = s.kind === "first" ? policy.admitFirst() : policy.admitRetry();
            if (admitted) {
              out.push(now);
              if (limit !== Number.POSITIVE_INFINITY) {
                expect(policy.inFlight).toBeLessThanOrEqual(Math.max(1, Math.ceil(limit)));
              }
              if (s.kind === "retry" && limit !== Number.POSITIVE_INFINITY) {
                expect(policy.inFlight - 1).toBeLessThan(limit * o.retryShare);
              }
            }
          } else if (s.kind === "answer" && out.length > 0) {
            now += s.latencyMs;
            policy.finished(out.shift() as number, now);
          } else if (s.kind === "leave" && out.length > 0) {
            out.pop();
            policy.release();
          } else if (s.kind === "wait") {
            now += s.ms;
          }
          expect(policy.inFlight).toBe(out.length);
        }
      }),
      { numRuns: 500 },
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "../../src/retry/backoff.js";
import { decideRetry } from "../../src/retry/decide-retry.js";
import { parseRetryAfterMs } from "../../src/retry/retry-after.js";

// Property tests of the pure retry policy: the parsers and the bounds hold for every input
// fast-check can think of, not only for the examples of test/unit.

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n: number) => String(n).padStart(2, "0");
const clock = (d: Date) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;

/**
 * A whole-second instant from 49 years before NOW to 50 years after: the span in which RFC 850's
 * two-digit year is unambiguous (RFC 9110 §5.6.7: "more than 50 years in the future" = past).
 */
const instant = fc
  .integer({ min: Date.UTC(1977, 0, 1) / 1000, max: Date.UTC(2076, 11, 31, 23, 59, 59) / 1000 })
  .map((s) => new Date(s * 1000));

describe("Retry-After (RFC 9110 §10.2.3)", () => {
  it("delta-seconds: any non-negative integer n means n x 1000 ms, whitespace around ignored", () => {
    fc.assert(
      fc.property(fc.nat({ max: 2_000_000_000 }), fc.constantFrom("", " ", "\t"), (n, ws) => {
        expect(parseRetryAfterMs(`${ws}${n}${ws}`, NOW)).toBe(n * 1000);
      }),
    );
  });

  it("IMF-fixdate, RFC 850 and asctime of the same instant mean the same wait: max(0, date - now)", () => {
    fc.assert(
      fc.property(instant, (date) => {
        const expected = Math.max(0, date.getTime() - NOW);
        const day = date.getUTCDate();
        const month = MONTHS[date.getUTCMonth()];
        const year = date.getUTCFullYear();
        expect(parseRetryAfterMs(date.toUTCString(), NOW)).toBe(expected);
        const rfc850 = `${LONG_WEEKDAYS[date.getUTCDay()]}, ${pad(day)}-${month}-${String(year).slice(2)} ${clock(date)} GMT`;
        expect(parseRetryAfterMs(rfc850, NOW)).toBe(expected);
        const asctime = `${WEEKDAYS[date.getUTCDay()]} ${month} ${String(day).padStart(2, " ")} ${clock(date)} ${year}`;
        expect(parseRetryAfterMs(asctime, NOW)).toBe(expected);
      }),
    );
  });

  it("any string at all: undefined, or a wait that is never negative and never NaN", () => {
    const anyValue = fc.oneof(
      fc.string({ unit: "binary", maxLength: 64 }),
      fc.string({ unit: fc.constantFrom(..."0123456789-+.eE xX,:GMTMonJan"), maxLength: 40 }),
      fc.double().map(String),
      fc.integer().map(String),
    );
    fc.assert(
      fc.property(anyValue, fc.integer({ min: 0, max: 4_000_000_000_000 }), (value, now) => {
        const ms = parseRetryAfterMs(value, now);
        if (ms !== undefined) {
          expect(Number.isNaN(ms)).toBe(false);
          expect(ms).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("signs, fractions and exponents are not delta-seconds: ignored (normal backoff)", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 100_000 }),
        fc.constantFrom(
          (n: number) => `-${n}`,
          (n: number) => `+${n}`,
          (n: number) => `${n}.5`,
          (n: number) => `${n}e1`,
        ),
        (n, shape) => {
          expect(parseRetryAfterMs(shape(n), NOW)).toBeUndefined();
        },
      ),
    );
  });
});

const jitter = fc.oneof(fc.constant<"full">("full"), fc.double({ min: 0, max: 1, noNaN: true }));
const backoffOptions = fc.record({
  baseMs: fc.integer({ min: 0, max: 600_000 }),
  maxMs: fc.integer({ min: 0, max: 3_600_000 }),
  jitter,
});
// Math.random's range, both ends included, and values right next to them.
const random = fc.oneof(
  fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  fc.constantFrom(0, 1 - 2 ** -53),
);

describe("backoff", () => {
  it("is a whole number of ms, never negative, never above BACKOFF_MAX_MS, for every retry and setting", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), backoffOptions, random, (retry, options, r) => {
        const delay = backoffDelayMs(retry, options, () => r);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(options.maxMs);
      }),
      { numRuns: 2000 },
    );
  });

  it("without jitter it is exactly min(max, base x 2^(n-1)), and never shrinks as n grows", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), backoffOptions, (retry, options) => {
        const plain = { ...options, jitter: 0 };
        const delay = backoffDelayMs(retry, plain, () => 0.5);
        expect(delay).toBe(Math.round(Math.min(options.maxMs, options.baseMs * 2 ** (retry - 1))));
        expect(backoffDelayMs(retry + 1, plain, () => 0.5)).toBeGreaterThanOrEqual(delay);
      }),
    );
  });

  it("with jitter j it stays within [(1-j), (1+j)] x the plain delay (capped); full jitter within [0, delay]", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), backoffOptions, random, (retry, options, r) => {
        const plain = Math.min(options.maxMs, options.baseMs * 2 ** (retry - 1));
        const delay = backoffDelayMs(retry, options, () => r);
        const j = options.jitter === "full" ? 1 : options.jitter;
        const low = options.jitter === "full" ? 0 : (1 - j) * plain;
        const high = Math.min(options.maxMs, options.jitter === "full" ? plain : (1 + j) * plain);
        expect(delay).toBeGreaterThanOrEqual(Math.floor(low));
        expect(delay).toBeLessThanOrEqual(Math.ceil(high));
      }),
      { numRuns: 2000 },
    );
  });
});

const question = fc.record({
  retryable: fc.boolean(),
  retriesMade: fc.nat({ max: 12 }),
  maxRetries: fc.nat({ max: 10 }),
  replayable: fc.boolean(),
  idempotent: fc.boolean(),
  neverSent: fc.boolean(),
  clientGone: fc.boolean(),
  retryAfterMs: fc.option(fc.nat({ max: 100_000 }), { nil: undefined }),
  retryAfterMaxMs: fc.nat({ max: 60_000 }),
  backoffMs: fc.nat({ max: 20_000 }),
  remainingMs: fc.integer({ min: -1000, max: 30_000 }),
  circuitBlocks: fc.boolean(),
  overloadAllows: fc.boolean(),
  throttleAllows: fc.boolean(),
  budgetAllows: fc.boolean(),
});

describe("the retry decision", () => {
  it("retries only when every condition of docs/contract.md 'When it retries' holds, and waits what it must", () => {
    fc.assert(
      fc.property(question, (q) => {
        const decision = decideRetry(q);
        const delay = q.retryAfterMs ?? q.backoffMs;
        const allowed =
          q.retryable &&
          q.retriesMade < q.maxRetries &&
          q.replayable &&
          (q.idempotent || q.neverSent) &&
          !q.clientGone &&
          (q.retryAfterMs === undefined || q.retryAfterMs <= q.retryAfterMaxMs) &&
          delay < q.remainingMs &&
          !q.circuitBlocks &&
          q.overloadAllows &&
          q.throttleAllows &&
          q.budgetAllows;
        expect(decision.retry).toBe(allowed);
        if (decision.retry) {
          expect(decision.delayMs).toBe(delay);
          expect(decision.delayMs).toBeGreaterThanOrEqual(0);
          expect(decision.delayMs).toBeLessThan(q.remainingMs);
        } else if (!q.retryable) {
          expect(decision.reason).toBe("not_retryable");
        } else if (q.retriesMade >= q.maxRetries) {
          expect(decision.reason).toBe("exhausted");
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("a retry refused for a reason other than the budget never spends budget (budget is asked last)", () => {
    fc.assert(
      fc.property(question, (q) => {
        const withBudget = decideRetry({ ...q, budgetAllows: true });
        const without = decideRetry({ ...q, budgetAllows: false });
        if (!withBudget.retry) expect(without).toEqual(withBudget);
        else expect(without).toEqual({ retry: false, reason: "budget" });
      }),
    );
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TokenRetryThrottle } from "../../src/retry/retry-throttle.js";

// The throttle driven as the retry loop drives it (request, first attempt, then retries while it
// allows, at most MAX_RETRIES), over arbitrary sequences of outcomes.

// Retries a run of failed attempts lets go before three failed retries show that retries do not
// help (the throttle's RUN_EVIDENCE).
const RUN_FREE = 3;

const settings = fc.record({
  tokens: fc.double({ min: 0.5, max: 20, noNaN: true }),
  ratio: fc.double({ min: 0, max: 3, noNaN: true }),
  probeRatio: fc.double({ min: 0, max: 1, noNaN: true }),
});
// Each request: its first attempt's outcome, then the outcomes its retries would get.
const requests = fc.array(
  fc.record({ first: fc.boolean(), retries: fc.array(fc.boolean(), { maxLength: 3 }) }),
  {
    maxLength: 300,
  },
);

function drive(
  options: { tokens: number; ratio: number; probeRatio: number },
  seq: { first: boolean; retries: boolean[] }[],
) {
  const throttle = new TokenRetryThrottle(options);
  let failedRetries = 0;
  let succeededRetries = 0;
  let successes = 0;
  for (const request of seq) {
    throttle.request();
    throttle.record(false, !request.first);
    if (request.first) {
      successes += 1;
      continue;
    }
    for (const ok of request.retries) {
      if (!throttle.allows()) break;
      throttle.take();
      throttle.record(true, !ok);
      if (ok) {
        succeededRetries += 1;
        successes += 1;
        break;
      }
      failedRetries += 1;
    }
  }
  return { failedRetries, succeededRetries, successes };
}

describe("retry throttle bounds", () => {
  it("every failed retry is paid for: by the initial tokens, a probe, or a success", () => {
    fc.assert(
      fc.property(settings, requests, (options, seq) => {
        const r = drive(options, seq);
        // Tokens come from the start and from successes (ratio each; and each success can reopen a
        // drained bucket once); lift only from successful retries (at most 0.6 each, and every
        // failed retry it lets through costs at least 0.4, or drains it); the moving average of
        // retry success only from successful retries too; a run of failures earns at most
        // RUN_FREE retries before any retry has succeeded.
        const bound =
          options.tokens +
          1 +
          RUN_FREE +
          options.probeRatio * seq.length +
          (1 + options.ratio) * r.successes +
          (0.7 / 0.3 + 1) * r.succeededRetries;
        expect(r.failedRetries).toBeLessThanOrEqual(bound + 1e-9);
      }),
      { numRuns: 500 },
    );
  });

  it("when nothing succeeds (an outage), attempts per request <= 1 + probeRatio + (tokens + 1 + RUN_FREE) / requests", () => {
    fc.assert(
      fc.property(settings, fc.integer({ min: 1, max: 300 }), (options, count) => {
        const seq = Array.from({ length: count }, () => ({ first: false, retries: [false, false, false] }));
        const { failedRetries } = drive(options, seq);
        const attempts = count + failedRetries;
        expect(attempts / count).toBeLessThanOrEqual(
          1 + options.probeRatio + (options.tokens + 1 + RUN_FREE) / count + 1e-9,
        );
      }),
      { numRuns: 500 },
    );
  });
});

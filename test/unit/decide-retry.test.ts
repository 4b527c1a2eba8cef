import { describe, expect, it } from "vitest";
import { decideRetry, type RetryQuestion } from "../../src/retry/decide-retry.js";

const base: RetryQuestion = {
  retryable: true,
  retriesMade: 0,
  maxRetries: 3,
  replayable: true,
  idempotent: true,
  neverSent: false,
  clientGone: false,
  retryAfterMs: undefined,
  retryAfterMaxMs: 30_000,
  backoffMs: 500,
  remainingMs: 20_000,
  circuitBlocks: false,
  overloadAllows: true,
  throttleAllows: true,
  budgetAllows: true,
};

describe("decideRetry", () => {
  it.each<[string, Partial<RetryQuestion>, ReturnType<typeof decideRetry>]>([
    ["retries a retryable outcome after the backoff", {}, { retry: true, delayMs: 500 }],
    ["waits exactly the Retry-After instead", { retryAfterMs: 1500 }, { retry: true, delayMs: 1500 }],
    ["a Retry-After of 0 retries at once", { retryAfterMs: 0 }, { retry: true, delayMs: 0 }],
    ["stops on a non-retryable outcome", { retryable: false }, { retry: false, reason: "not_retryable" }],
    ["stops when the retries are used up", { retriesMade: 3 }, { retry: false, reason: "exhausted" }],
    ["x-retry-max 0 means no retry", { maxRetries: 0 }, { retry: false, reason: "exhausted" }],
    ["a streamed body cannot be replayed", { replayable: false }, { retry: false, reason: "body_too_large" }],
    ["the client left", { clientGone: true }, { retry: false, reason: "client_gone" }],
    [
      "a keyless POST after an outcome that may have reached the upstream",
      { idempotent: false },
      { retry: false, reason: "not_idempotent" },
    ],
    [
      "a keyless POST that never reached the upstream (failed to connect)",
      { idempotent: false, neverSent: true },
      { retry: true, delayMs: 500 },
    ],
    [
      "Retry-After over the maximum",
      { retryAfterMs: 30_001 },
      { retry: false, reason: "retry_after_too_long" },
    ],
    [
      "Retry-After exactly the maximum (only a longer one is final)",
      { retryAfterMs: 30_000, remainingMs: 40_000 },
      { retry: true, delayMs: 30_000 },
    ],
    [
      "Retry-After past the deadline",
      { retryAfterMs: 5000, remainingMs: 4000 },
      { retry: false, reason: "deadline" },
    ],
    [
      "backoff past the deadline",
      { backoffMs: 2000, remainingMs: 2000 },
      { retry: false, reason: "deadline" },
    ],
    ["the circuit is open", { circuitBlocks: true }, { retry: false, reason: "circuit_open" }],
    ["the throttle is engaged", { throttleAllows: false }, { retry: false, reason: "throttled" }],
    ["the budget is spent", { budgetAllows: false }, { retry: false, reason: "budget" }],
    [
      "overload protection holds the retry back",
      { overloadAllows: false },
      { retry: false, reason: "overloaded" },
    ],
  ])("%s", (_name, change, expected) => {
    expect(decideRetry({ ...base, ...change })).toEqual(expected);
  });

  it.each<[string, Partial<RetryQuestion>, string]>([
    ["exhausted before body", { retriesMade: 3, replayable: false }, "exhausted"],
    ["exhausted before not idempotent", { maxRetries: 0, idempotent: false }, "exhausted"],
    ["not idempotent before body", { idempotent: false, replayable: false }, "not_idempotent"],
    ["body before client gone", { replayable: false, clientGone: true }, "body_too_large"],
    [
      "too-long Retry-After before deadline",
      { retryAfterMs: 60_000, remainingMs: 1 },
      "retry_after_too_long",
    ],
    ["deadline before circuit", { remainingMs: 1, circuitBlocks: true }, "deadline"],
    ["circuit before budget", { circuitBlocks: true, budgetAllows: false }, "circuit_open"],
    ["circuit before throttle", { circuitBlocks: true, throttleAllows: false }, "circuit_open"],
    ["throttle before budget", { throttleAllows: false, budgetAllows: false }, "throttled"],
    ["circuit before overload", { circuitBlocks: true, overloadAllows: false }, "circuit_open"],
    [
      "overload before budget (a held-back retry spends no budget)",
      { overloadAllows: false, budgetAllows: false },
      "overloaded",
    ],
    ["overload before throttle", { overloadAllows: false, throttleAllows: false }, "overloaded"],
  ])("reports one reason when several apply: %s", (_name, change, reason) => {
    expect(decideRetry({ ...base, ...change })).toEqual({ retry: false, reason });
  });
});

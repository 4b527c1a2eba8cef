// An upstream attempt's life (upstream-attempt.ts), one small integer instead of several flags, so
// that every callback asks one field. WAITING → HELD on the response headers; HELD → FORWARDING →
// ENDING → DONE for the final answer, HELD → DROPPING → DONE for one that is retried; any → DONE
// when it fails, times out or its client leaves.
export const WAITING = 0; // sent; no response headers yet
export const HELD = 1; // headers in; the retry loop has not yet said whether this answer is final
export const FORWARDING = 2; // final: the body goes to the client as it arrives
export const ENDING = 3; // the whole body is written; waiting for the client to have it all
export const DROPPING = 4; // will be retried: the rest of the body is read and dropped
export const DONE = 5; // settled: a failure, a finished answer, or cancelled

export type AttemptMode =
  | typeof WAITING
  | typeof HELD
  | typeof FORWARDING
  | typeof ENDING
  | typeof DROPPING
  | typeof DONE;

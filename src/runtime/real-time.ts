import { setTimeout as delay } from "node:timers/promises";
import type { Clock, Random, Sleep } from "../retry/clock.js";
import { randomRequestId } from "./request-ids.js";

// The real clock, sleep, random source and id generator. Only the wiring (sidecar.ts) uses
// them; everything below it receives them, so tests can substitute fakes.

export const realClock: Clock = Date.now;

/** Waits, or stops waiting the moment `signal` aborts (the client left, shutdown gave up). */
export const realSleep: Sleep = async (ms, signal) => {
  if (ms <= 0 || signal.aborted) return;
  try {
    await delay(ms, undefined, { signal });
  } catch {
    // aborted: the caller looks at signal.aborted
  }
};

export const realRandom: Random = Math.random;

export const newId: () => string = randomRequestId;

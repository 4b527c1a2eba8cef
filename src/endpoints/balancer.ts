import type { Random } from "../retry/clock.js";
import type { Endpoint } from "./endpoint.js";

/**
 * Power of two choices (Mitzenmacher; Linkerd's p2c balancer): two distinct endpoints picked at
 * random among the candidates, the one with fewer attempts in flight wins, a tie at random.
 *
 * Candidates are the endpoints not ejected. For a retry (`tried` holds the keys of the endpoints
 * this request already used), the candidates are first narrowed to those not tried; only when none
 * of them is left does a retry choose like a first attempt. Undefined when no endpoint is in
 * rotation. `endpoints` is read, never changed; ejection state must be current (see
 * EndpointSet.choose).
 */
export function chooseEndpoint(
  endpoints: readonly Endpoint[],
  tried: ReadonlySet<string> | undefined,
  random: Random,
): Endpoint | undefined {
  if (tried !== undefined && tried.size > 0) {
    const untried = candidates(endpoints, (e) => e.ejectedUntil === undefined && !tried.has(e.key));
    if (untried.length > 0) return twoChoices(untried, random);
  }
  return twoChoices(
    candidates(endpoints, (e) => e.ejectedUntil === undefined),
    random,
  );
}

// The common case (no ejection, first attempt) keeps the caller's array: no copy per attempt.
function candidates(endpoints: readonly Endpoint[], keep: (e: Endpoint) => boolean): readonly Endpoint[] {
  let all = true;
  for (const e of endpoints) {
    if (!keep(e)) {
      all = false;
      break;
    }
  }
  return all ? endpoints : endpoints.filter(keep);
}

function twoChoices(pool: readonly Endpoint[], random: Random): Endpoint | undefined {
  const n = pool.length;
  if (n <= 1) return pool[0];
  const i = pick(n, random);
  let j = pick(n - 1, random);
  if (j >= i) j += 1; // a second, distinct index
  const a = pool[i] as Endpoint;
  const b = pool[j] as Endpoint;
  if (a.inFlight !== b.inFlight) return a.inFlight < b.inFlight ? a : b;
  return random() < 0.5 ? a : b;
}

/** A uniform index in [0, n); guards against a random source that returns 1. */
function pick(n: number, random: Random): number {
  return Math.min(n - 1, Math.floor(random() * n));
}

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chooseEndpoint } from "../../src/endpoints/balancer.js";
import type { Endpoint } from "../../src/endpoints/endpoint.js";
import { EndpointSet } from "../../src/endpoints/endpoint-set.js";
import { endpoints } from "../support/endpoints.js";

// The balancer and the ejection rules under random sequences of events, on a fake clock and a
// random source that fast-check controls.

const ADDRESSES = Array.from({ length: 8 }, (_, i) => `10.0.0.${i + 1}`);

type Step =
  | {
      readonly op: "report";
      readonly index: number;
      readonly outcome: "retryable" | "not_retryable" | "cancelled";
    }
  | { readonly op: "wait"; readonly ms: number }
  | { readonly op: "resolve"; readonly addresses: string[] }
  | { readonly op: "choose"; readonly tried: number[] };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant("report" as const),
      index: fc.nat({ max: 7 }),
      outcome: fc.constantFrom(
        "retryable" as const,
        "retryable" as const,
        "not_retryable" as const,
        "cancelled" as const,
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("wait" as const), ms: fc.nat({ max: 1500 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("resolve" as const), addresses: fc.subarray(ADDRESSES) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("choose" as const),
      tried: fc.array(fc.nat({ max: 7 }), { maxLength: 8 }),
    }),
  },
);

/** A fast-check random source as the sidecar's Random: uniform in [0, 1). */
const randomSource = fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }));

const isEjected = (e: Endpoint) => e.ejectedUntil !== undefined;

describe("ejection never takes out more than half of the endpoints", () => {
  it("after every event: ejected <= floor(n / 2), and the gauge counts agree with the list", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.subarray(ADDRESSES, { minLength: 1 }),
        fc.array(step, { maxLength: 200 }),
        randomSource,
        (ejectAfter, ejectMs, initial, steps, stream) => {
          let now = 0;
          const random = () => stream.next().value as number;
          const set = new EndpointSet(
            { host: "billing.test", port: 5002, ejectAfter, ejectMs },
            () => now,
            random,
            { changed: () => {}, ejected: () => {}, restored: () => {}, stuck: () => {} },
          );
          set.update(initial);
          for (const s of steps) {
            const list = set.endpoints;
            if (s.op === "report" && list.length > 0)
              set.report(list[s.index % list.length] as Endpoint, s.outcome);
            if (s.op === "wait") now += s.ms;
            if (s.op === "resolve") set.update(s.addresses);
            if (s.op === "choose") {
              const chosen = set.choose(new Set(s.tried.map((i) => `${ADDRESSES[i]}:5002`)));
              expect(chosen === undefined || !isEjected(chosen)).toBe(true);
            }
            const current = set.endpoints;
            const ejected = current.filter(isEjected).length;
            expect(ejected).toBeLessThanOrEqual(Math.floor(current.length / 2));
            if (ejectAfter === 0) expect(ejected).toBe(0);
            // An ejection lasts at most ejectMs.
            for (const e of current)
              if (e.ejectedUntil !== undefined) expect(e.ejectedUntil - now).toBeLessThanOrEqual(ejectMs);
            const counts = set.counts();
            const after = set.endpoints.filter(isEjected).length;
            expect(counts).toEqual({ active: current.length - after, ejected: after });
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** 1 to 8 endpoints with random loads, some ejected. */
const state = fc
  .array(fc.record({ inFlight: fc.nat({ max: 5 }), ejected: fc.boolean() }), { minLength: 1, maxLength: 8 })
  .map((rows) =>
    endpoints(...rows.map((r) => r.inFlight)).map((e, i) => ({
      ...e,
      ejectedUntil: rows[i]?.ejected === true ? 1 : undefined,
    })),
  );

describe("choosing", () => {
  it("a retry never goes to a tried endpoint while an untried one is in rotation", () => {
    fc.assert(
      fc.property(state, fc.array(fc.nat({ max: 7 })), randomSource, (list, triedIndexes, stream) => {
        const tried = new Set(triedIndexes.map((i) => `10.0.0.${i + 1}:5002`));
        const chosen = chooseEndpoint(list, tried, () => stream.next().value as number);
        const active = list.filter((e) => !isEjected(e));
        if (active.length === 0) {
          expect(chosen).toBeUndefined();
          return;
        }
        expect(chosen).toBeDefined();
        expect(isEjected(chosen as Endpoint)).toBe(false);
        if (active.some((e) => !tried.has(e.key))) expect(tried.has((chosen as Endpoint).key)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it("a first attempt takes the less loaded of the two it drew", () => {
    fc.assert(
      fc.property(state, randomSource, (list, stream) => {
        const drawn: number[] = [];
        const random = () => {
          const value = stream.next().value as number;
          drawn.push(value);
          return value;
        };
        const chosen = chooseEndpoint(list, undefined, random);
        const active = list.filter((e) => !isEjected(e));
        if (active.length < 2) {
          expect(chosen).toBe(active[0]);
          return;
        }
        // The two draws name distinct candidates: index floor(r x n), then one of the n-1 others.
        const n = active.length;
        const i = Math.floor((drawn[0] as number) * n);
        let j = Math.floor((drawn[1] as number) * (n - 1));
        if (j >= i) j += 1;
        const a = active[i] as Endpoint;
        const b = active[j] as Endpoint;
        expect([a, b]).toContain(chosen);
        expect((chosen as Endpoint).inFlight).toBe(Math.min(a.inFlight, b.inFlight));
        // Whatever was drawn: never the one endpoint loaded more than every other.
        const max = Math.max(...active.map((e) => e.inFlight));
        if (active.filter((e) => e.inFlight === max).length === 1) expect(chosen?.inFlight).toBeLessThan(max);
      }),
      { numRuns: 1000 },
    );
  });
});

import { describe, expect, it } from "vitest";
import { chooseEndpoint } from "../../src/endpoints/balancer.js";
import { endpoints, scripted } from "../support/endpoints.js";

// docs/contract.md "Endpoints", Choosing: two endpoints picked at random among those not ejected, the one with
// fewer attempts in flight wins, a tie at random; a retry prefers endpoints the request has not
// tried. The random source is scripted: with n candidates the first value picks index
// floor(r x n), the second an index among the n-1 others, a third breaks a tie (< 0.5: the first).

const keys = (...n: number[]) => new Set(n.map((i) => `10.0.0.${i}:5002`));

describe("first attempt: power of two choices", () => {
  it("no endpoint known: undefined", () => {
    expect(chooseEndpoint([], undefined, scripted())).toBeUndefined();
  });

  it("one endpoint: that one, without drawing", () => {
    const [only] = endpoints(7);
    expect(chooseEndpoint([only as never], undefined, scripted())).toBe(only);
  });

  it.each([
    // [in flight of 10.0.0.1-3, random values, chosen]
    [[3, 1, 0], [0, 0.5], "10.0.0.3:5002"], // picks .1 and .3: .3 has fewer
    [[3, 1, 0], [0.4, 0], "10.0.0.2:5002"], // picks .2 and .1: .2 has fewer
    [[0, 9, 9], [0.9, 0.5, 0.2], "10.0.0.3:5002"], // picks .3 and .2 (a tie), then 0.2: the first
    [[0, 9, 9], [0.9, 0.5, 0.7], "10.0.0.2:5002"], // the same tie, 0.7: the second
    [[5, 5], [0.999_999, 0.999_999, 0.1], "10.0.0.2:5002"], // the two picks are always distinct
  ] as const)("in flight %j, random %j: %s", (inFlight, random, chosen) => {
    const list = endpoints(...inFlight);
    expect(chooseEndpoint(list, undefined, scripted(...random))?.key).toBe(chosen);
  });

  it("a random source that returns 1 still picks among the endpoints", () => {
    const list = endpoints(0, 0, 0);
    expect(list).toContain(chooseEndpoint(list, undefined, () => 1));
  });

  it("of two endpoints, always the less loaded, whatever the random values", () => {
    const list = endpoints(4, 2);
    for (const a of [0, 0.3, 0.5, 0.99]) {
      expect(chooseEndpoint(list, undefined, scripted(a, 0))?.key).toBe("10.0.0.2:5002");
    }
  });

  it("never an ejected endpoint", () => {
    const list = endpoints(0, 5, 5);
    (list[0] as { ejectedUntil: number | undefined }).ejectedUntil = 1000;
    for (const a of [0, 0.5, 0.99]) {
      for (const b of [0, 0.99]) {
        expect(chooseEndpoint(list, undefined, scripted(a, b, 0.1))?.key).not.toBe("10.0.0.1:5002");
      }
    }
  });

  it("an empty tried set is a first attempt", () => {
    expect(chooseEndpoint(endpoints(1, 0), new Set(), scripted(0, 0))?.key).toBe("10.0.0.2:5002");
  });
});

describe("retry: an endpoint this request has not tried, while one is in rotation", () => {
  it("tried .1 of three: .2 or .3, the less loaded of them", () => {
    const list = endpoints(0, 4, 3);
    expect(chooseEndpoint(list, keys(1), scripted(0, 0))?.key).toBe("10.0.0.3:5002");
  });

  it("tried .1 and .2: .3 however loaded, without drawing", () => {
    const list = endpoints(0, 0, 50);
    expect(chooseEndpoint(list, keys(1, 2), scripted())?.key).toBe("10.0.0.3:5002");
  });

  it("every endpoint tried: chosen like a first attempt", () => {
    const list = endpoints(2, 1, 3);
    expect(chooseEndpoint(list, keys(1, 2, 3), scripted(0, 0))?.key).toBe("10.0.0.2:5002");
  });

  it("the only untried endpoint is ejected: chosen among those in rotation, tried or not", () => {
    const list = endpoints(2, 1, 0);
    (list[2] as { ejectedUntil: number | undefined }).ejectedUntil = 1000;
    expect(chooseEndpoint(list, keys(1, 2), scripted(0, 0))?.key).toBe("10.0.0.2:5002");
  });

  it("a lone endpoint already tried: that one again (the data path opens a fresh connection)", () => {
    const list = endpoints(0);
    expect(chooseEndpoint(list, keys(1), scripted())?.key).toBe("10.0.0.1:5002");
  });
});

import { describe, expect, it } from "vitest";
import {
  ALL_VARIANTS,
  APP_ATTEMPTS,
  allScenarios,
  modelFor,
  VARIANT_ENV,
} from "../../bench/fleet/scenarios.js";
import { variants as simVariants } from "../../sim/lib/variants.js";

// The fleet check's rows: what each sets on its sidecars and which billing it runs against. The
// rows carry the simulator's names, so that a simulated row and a real one can be compared.

const overloadDrop = () => {
  const s = allScenarios(1, 1).find((x) => x.name === "overload-drop");
  if (s === undefined) throw new Error("no overload-drop");
  return s;
};

describe("the fleet check's rows", () => {
  it("every row is also a row of the simulator", () => {
    const simNames = simVariants.map((v) => v.name);
    for (const name of ALL_VARIANTS) expect(simNames).toContain(name);
  });

  it("the billing-sheds rows shed at billing's door in overload-drop; the others keep its queue", () => {
    const model = overloadDrop().model;
    expect(modelFor("billing-sheds", model)).toMatchObject({ shedWaitMs: 500 });
    expect(modelFor("billing-sheds-breaker-30", model)).toMatchObject({ shedWaitMs: 500 });
    // HAProxy's row keeps billing's queue too: its door stands in front of it (doorFor).
    for (const v of [
      "no-retries",
      "sidecar",
      "sidecar-no-blind-retries",
      "haproxy-sheds-breaker-30",
    ] as const)
      expect(modelFor(v, model)).toBe(model);
  });

  it("the recipe rows differ from the defaults only by the breaker's threshold", () => {
    expect(VARIANT_ENV["billing-sheds"]).toEqual({});
    expect(VARIANT_ENV["billing-sheds-breaker-30"]).toEqual({ CIRCUIT_FAILURE_THRESHOLD: "30" });
    expect(VARIANT_ENV["haproxy-sheds-breaker-30"]).toEqual({ CIRCUIT_FAILURE_THRESHOLD: "30" });
    expect(APP_ATTEMPTS["billing-sheds-breaker-30"]).toBe(1);
    expect(APP_ATTEMPTS["haproxy-sheds-breaker-30"]).toBe(1);
    expect(VARIANT_ENV["no-retries"]).toBeUndefined();
    expect(APP_ATTEMPTS["naive-3x"]).toBe(4);
  });
});

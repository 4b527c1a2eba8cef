import { describe, expect, it } from "vitest";
import { type Scenario, scenarios } from "../../sim/lib/scenarios.js";
import { simulate } from "../../sim/lib/simulate.js";
import { type Variant, variants } from "../../sim/lib/variants.js";

// Overload protection in the fleet simulator: the `sidecar` row runs it (src/overload/, the real
// policy); healthy slow upstreams lose nothing to it; in overload-drop at 100 pods it is what keeps
// the fleet from sustaining the overload (docs/overload.md has the full table).

const scenario = (name: string): Scenario => scenarios.find((s) => s.name === name) as Scenario;
const variant = (name: string): Variant => variants.find((v) => v.name === name) as Variant;

describe("overload protection in the fleet simulator", () => {
  it.each([
    ["healthy-slow", 10],
    ["healthy-jitter", 10],
    ["healthy-slow", 1000],
    ["healthy-jitter", 1000],
  ])("%s at %i pods: nothing shed, every request answered in time", async (name, pods) => {
    const r = await simulate({ ...scenario(name), durationS: 20 }, variant("sidecar"), pods, 1);
    expect(r.success).toBe(1);
    expect(r.attemptsPerRequest).toBe(1);
  });

  it("overload-drop, 100 pods: sheds, holds retries back, and recovers far sooner than without it", async () => {
    const on = await simulate(scenario("overload-drop"), variant("sidecar"), 100, 1);
    const off = await simulate(scenario("overload-drop"), variant("sidecar-no-overload"), 100, 1);
    expect(on.skipped.overloaded).toBeGreaterThan(0);
    expect(on.success).toBeGreaterThan(off.success + 0.05);
    expect(on.recoveryS).toBeLessThan((off.recoveryS as number) - 5);
  });
});

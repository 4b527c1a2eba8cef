import { describe, expect, it } from "vitest";
import { type Scenario, scenarios } from "../../sim/lib/scenarios.js";
import { simulate } from "../../sim/lib/simulate.js";
import { type Variant, variants } from "../../sim/lib/variants.js";

// The fleet simulator (npm run sim) on short runs: it must be deterministic, and its upstream
// models must show what they claim (no retries succeed 1 - p of the time; naive retries collapse
// after the overload trigger and never recover).

const scenario = (name: string): Scenario => scenarios.find((s) => s.name === name) as Scenario;
const variant = (name: string): Variant => variants.find((v) => v.name === name) as Variant;

describe("fleet simulator", () => {
  it("the same seed gives the same figures, another seed others", async () => {
    const short = { ...scenario("random-30"), durationS: 15, warmupPerPod: 3 };
    const a = await simulate(short, variant("sidecar"), 10, 7);
    const b = await simulate(short, variant("sidecar"), 10, 7);
    const c = await simulate(short, variant("sidecar"), 10, 8);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(a.requests).toBeGreaterThan(200);
  });

  it("without retries, success is 1 - p of random failures", async () => {
    const short = { ...scenario("random-30"), durationS: 60, warmupPerPod: 1 };
    const r = await simulate(short, variant("no-retries"), 10, 3);
    expect(r.attemptsPerRequest).toBe(1);
    expect(r.success).toBeGreaterThan(0.66);
    expect(r.success).toBeLessThan(0.74);
  });

  it("naive 3x retries collapse in overload-drop: goodput near zero after the trigger, no recovery", async () => {
    const r = await simulate(scenario("overload-drop"), variant("naive-3x"), 10, 1);
    expect(r.recoveryS).toBe(Number.POSITIVE_INFINITY);
    expect(r.attemptsPerRequest).toBeGreaterThan(2.5);
    const afterTrigger = r.goodput.slice(40); // seconds 40-70: 10 s after the trigger ended
    expect(Math.max(...afterTrigger)).toBeLessThan(56 * 0.2);
    // ... while no retries at all recover within seconds.
    const none = await simulate(scenario("overload-drop"), variant("no-retries"), 10, 1);
    expect(none.recoveryS).toBeLessThan(10);
  });

  it("the throttle holds attempts per request near 1 at 80% failures, RETRY_THROTTLE=off does not", async () => {
    const short = { ...scenario("random-80"), durationS: 30 };
    const on = await simulate(short, variant("sidecar"), 100, 1);
    const off = await simulate(short, variant("sidecar-before"), 100, 1);
    expect(on.attemptsPerRequest).toBeLessThan(1.15);
    expect(on.skipped.throttled).toBeGreaterThan(0);
    expect(off.attemptsPerRequest).toBeGreaterThan(1.5);
  });
});

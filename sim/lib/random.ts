/** A seeded uniform source in [0, 1) (the demo's mulberry32): the same seed gives the same run. */
export { mulberry32 as seededRandom } from "../../demo/flaky-billing.js";

/** An exponential gap with the given rate per second, in ms (Poisson arrivals). */
export function exponentialMs(ratePerSec: number, random: () => number): number {
  return (-Math.log(1 - random()) / ratePerSec) * 1000;
}

import { ALL_VARIANTS, SCENARIO_NAMES, VARIANTS, type Variant } from "./scenarios.js";

export interface FleetOptions {
  scenarios: string[];
  variants: Variant[];
  pods: number;
  /** Length of the load-independent scenarios (random, sick). */
  seconds: number;
  /** Factor on the outage and overload timelines (1 = 90 s and 70 s as defined). */
  triggerScale: number;
  /**
   * Which scenarios run their variants side by side (each with its own processes, loads started
   * together): "auto" all but overload-drop, whose 100 ms timers are too sensitive to the harness
   * and billing processes sharing the CPU with three other variants; "all"; "none".
   */
  sideBySide: "auto" | "all" | "none";
  seed: number;
  quick: boolean;
  out: string;
}

export const USAGE = `npm run fleet [-- options]   (also: npm run bench -- --fleet [options])
  --scenario=a,b     scenarios (default all): ${SCENARIO_NAMES.join(", ")}
  --variants=a,b     rows (default ${VARIANTS.join(", ")}; also ${ALL_VARIANTS.filter((v) => !VARIANTS.includes(v as never)).join(", ")})
  --pods=N           sidecar processes / apps (default 10; the same total load whatever N)
  --seconds=N        length of the random and sick scenarios (default 30)
  --trigger-scale=F  shrink the outage (90 s) and overload (70 s) timelines by F (default 1)
  --serial           every scenario's variants one after another (default: side by side, each with
                     its own billing and sidecars, except overload-drop, which runs them one by one)
  --side-by-side     every scenario's variants side by side, overload-drop too (--quick does)
  --seed=N           arrivals and failures (default 1)
  --quick            smoke: random-50 and overload-drop, 10 s and a 0.2 timeline, into bench/results/tmp/fleet-quick
  --out=DIR          where results.md, results.json and the charts go (default bench/results/fleet)`;

function list<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(",").filter((s) => s !== "");
  for (const item of items) {
    if (!allowed.includes(item as T))
      throw new Error(`unknown ${what} "${item}" (known: ${allowed.join(", ")})`);
  }
  return items as T[];
}

export function parseFleetOptions(argv: readonly string[]): FleetOptions {
  const quick = argv.includes("--quick");
  const options: FleetOptions = {
    scenarios: quick ? ["random-50", "overload-drop"] : [...SCENARIO_NAMES],
    variants: [...VARIANTS],
    pods: 10,
    seconds: quick ? 10 : 30,
    triggerScale: quick ? 0.2 : 1,
    sideBySide: quick ? "all" : "auto",
    seed: 1,
    quick,
    out: quick ? "bench/results/tmp/fleet-quick" : "bench/results/fleet",
  };
  for (const arg of argv) {
    const [name, value = ""] = arg.split("=", 2) as [string, string?];
    if (name === "--scenario" || name === "--scenarios")
      options.scenarios = list(value, SCENARIO_NAMES, "scenario");
    else if (name === "--variants") options.variants = list(value, ALL_VARIANTS, "variant");
    else if (name === "--pods") options.pods = positive(value, name);
    else if (name === "--seconds") options.seconds = positive(value, name);
    else if (name === "--trigger-scale") options.triggerScale = positive(value, name);
    else if (name === "--seed") options.seed = positive(value, name);
    else if (name === "--out") options.out = value;
    else if (name === "--serial") options.sideBySide = "none";
    else if (name === "--side-by-side") options.sideBySide = "all";
    else if (name === "--quick" || name === "--fleet") continue;
    else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return options;
}

function positive(value: string, name: string): number {
  const n = Number(value);
  if (!(n > 0) || (name === "--pods" && (!Number.isInteger(n) || n > 100))) {
    throw new Error(
      `${name} wants a positive number${name === "--pods" ? " up to 100" : ""}, got "${value}"`,
    );
  }
  return n;
}

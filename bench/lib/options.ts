import { resolve } from "node:path";
import type { RowId } from "./results.js";

export interface BenchOptions {
  quick: boolean;
  rounds: number;
  connections: number;
  /** wrk run per row per round. */
  satSeconds: number;
  /** wrk run per row before the first round, not measured (JIT, pools, caches). */
  warmSeconds: number;
  rate: number;
  /** wrk connections at the fixed rate; each thinks rateConnections/rate s on average. */
  rateConnections: number;
  rateSeconds: number;
  scenarioSeconds: number;
  scenarios: boolean;
  rows: RowId[];
  sidecarNodeArgs: string[];
  /** --sidecar-env=K=V,K=V: extra settings for the retry-sidecar row (e.g. LOG_LEVEL=warn). */
  sidecarEnv: Record<string, string>;
  /** --baseline=PATH/main.js: a second retry-sidecar build as an extra row (A/B a change). */
  baselineMain: string | undefined;
  /** --sidecar=PATH/main.js: run this build as the retry-sidecar row instead of building dist/. */
  sidecarMain: string | undefined;
  writeReadme: boolean;
  keepTemp: boolean;
  command: string;
}

const ALL_ROWS: RowId[] = ["direct", "nginx", "haproxy", "fastify", "bare", "sidecar"];

const HELP = `npm run bench [-- options]
  --quick              a few seconds per row, one round (what CI runs); writes bench/results/tmp/quick/
  --rounds=N           interleaved rounds (default 5; quick 1)
  --seconds=S          saturation run per row per round (default 5; quick 2)
  --rate=R             fixed rate in req/s (default 1000)
  --rate-seconds=S     fixed-rate run per row per round (default 8; quick 2; 0 skips the phase)
  --connections=C      wrk connections (default 32)
  --rows=a,b           subset of ${ALL_ROWS.join(",")} (direct is always run)
  --no-scenarios       skip the retry scenarios
  --sidecar-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof"   extra node flags for the retry-sidecar row
  --baseline=DIR/main.js   also run another retry-sidecar build (e.g. a copy of dist/ before a change)
  --sidecar=DIR/main.js    run that build as the retry-sidecar row (default: dist/, rebuilt when stale)
  --sidecar-env=K=V,...     extra settings for the retry-sidecar row only (e.g. LOG_LEVEL=warn)
  --no-readme          do not rewrite the README's Performance section
  --keep-temp          keep the temp dir (configs, logs)`;

const absolute = (path: string | undefined) => (path === undefined ? undefined : resolve(path));

export function parseOptions(argv: readonly string[]): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const [name = "", value = "true"] = arg.replace(/^--/, "").split(/=(.*)/s);
    flags.set(name, value);
  }
  if (flags.has("help")) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  const known = new Set([
    "quick",
    "rounds",
    "seconds",
    "rate",
    "rate-seconds",
    "connections",
    "rows",
    "no-scenarios",
    "sidecar-node-args",
    "sidecar-env",
    "baseline",
    "sidecar",
    "no-readme",
    "keep-temp",
  ]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}\n${HELP}`);
  const quick = flags.has("quick");
  const num = (name: string, full: number, short: number) => {
    const value = Number(flags.get(name) ?? (quick ? short : full));
    // Only the fixed-rate phase may be skipped (--rate-seconds=0), e.g. to A/B CPU at saturation.
    const min = name === "rate-seconds" ? 0 : Number.MIN_VALUE;
    if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a positive number`);
    return value;
  };
  const rows = flags.has("rows")
    ? (["direct", ...(flags.get("rows") ?? "").split(",")].filter((r) =>
        ALL_ROWS.includes(r as RowId),
      ) as RowId[])
    : ALL_ROWS;
  return {
    quick,
    rounds: Math.round(num("rounds", 5, 1)),
    connections: Math.round(num("connections", 32, 32)),
    satSeconds: Math.round(num("seconds", 5, 2)),
    warmSeconds: quick ? 2 : 5,
    rate: num("rate", 1000, 1000),
    rateConnections: 50,
    rateSeconds: num("rate-seconds", 8, 2),
    scenarioSeconds: quick ? 1 : 4,
    scenarios: !flags.has("no-scenarios"),
    rows,
    sidecarNodeArgs: (flags.get("sidecar-node-args") ?? "").split(" ").filter(Boolean),
    sidecarEnv: Object.fromEntries(
      (flags.get("sidecar-env") ?? "")
        .split(",")
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
    ),
    baselineMain: absolute(flags.get("baseline")),
    sidecarMain: absolute(flags.get("sidecar")),
    writeReadme:
      !quick &&
      !flags.has("no-readme") &&
      !flags.has("rows") &&
      !flags.has("sidecar-node-args") &&
      !flags.has("baseline") &&
      !flags.has("sidecar-env") &&
      !flags.has("sidecar"),
    keepTemp: flags.has("keep-temp"),
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
  };
}

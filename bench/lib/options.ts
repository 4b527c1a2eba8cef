import { resolve } from "node:path";
import { parseQuantity } from "./cgroup.js";
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
  /** --sidecar-node-args="--max-semi-space-size=8": extra node flags for the retry-sidecar rows. */
  sidecarNodeArgs: string[];
  /** --sidecar-env=K=V,K=V: extra settings for the retry-sidecar rows (e.g. MALLOC_ARENA_MAX=2). */
  sidecarEnv: Record<string, string>;
  /** The same for the baseline row. */
  baselineNodeArgs: string[];
  baselineEnv: Record<string, string>;
  /** --memory-limit=128Mi|none: the sidecar rows' cgroup limit; default k8s/components/retry-sidecar/native-sidecar.yaml's. */
  memoryLimit: string | undefined;
  /** --node24=PATH: the Node 24 binary; default the one .ci/node24.sh fetches. */
  node24: string | undefined;
  /** --peers-node=24|20: which Node runs fastify, bare and dispatch (default 24, as the sidecar). */
  peersNode: "24" | "20";
  /** --cpu-prof[=rows]: rows run under `node --cpu-prof` (default the sidecar row). */
  cpuProf: RowId[];
  /** Preload bench/preload/memory-report.ts into the Node rows (off: --no-memory-report). */
  memoryReport: boolean;
  /** Start the cgroup rows from a fresh, uncached copy of node and the app (off: --cached-start). */
  freshStart: boolean;
  /** --baseline=PATH/main.js: a second retry-sidecar build as an extra row (A/B a change). */
  baselineMain: string | undefined;
  /** --sidecar=PATH/main.js: run this build as the retry-sidecar row instead of building dist/. */
  sidecarMain: string | undefined;
  writeReadme: boolean;
  keepTemp: boolean;
  command: string;
}

/** Every fixed row, in the order the tables show them (the memory rows come after). */
export const BASE_ROWS: RowId[] = [
  "direct",
  "nginx",
  "haproxy",
  "fastify",
  "bare",
  "dispatch",
  "sidecar",
  "sidecar-3ep",
  "sidecar-node20",
];
/** The Node 24 sidecar in these limits too: the goal is ≥ 95% of the 4Gi throughput at 128Mi. */
const MEMORY_ROWS = "128Mi,4Gi";

const HELP = `npm run bench [-- options]
  --quick              a few seconds per row, one round (what CI runs); writes bench/results/tmp/quick/
  --rounds=N           interleaved rounds (default 5; quick 1)
  --seconds=S          saturation run per row per round (default 5; quick 2)
  --rate=R             fixed rate in req/s (default 1000)
  --rate-seconds=S     fixed-rate run per row per round (default 8; quick 2; 0 skips the phase)
  --connections=C      wrk connections (default 32)
  --rows=a,b           subset of ${BASE_ROWS.join(",")},sidecar@LIMIT (direct is always run)
  --memory-limit=Q     memory cgroup limit of the sidecar rows (default: k8s/components/retry-sidecar/native-sidecar.yaml's
                       limits.memory); "none" runs them outside any cgroup
  --memory-rows=Q,Q    also run the Node 24 sidecar at these limits (default ${MEMORY_ROWS}; "" for none)
  --peers-node=24|20   Node that runs fastify, bare and dispatch (default 24, the sidecar's)
  --node24=PATH        Node 24 binary (default: the one bash .ci/node24.sh fetches from the npm registry)
  --no-scenarios       skip the retry scenarios
  --sidecar-node-args="--max-semi-space-size=8"   extra node flags for the retry-sidecar rows
                       (alias --sidecar-node-flags)
  --sidecar-env=K=V,...    extra settings for the retry-sidecar rows (e.g. MALLOC_ARENA_MAX=2,LOG_LEVEL=warn)
  --baseline=DIR/main.js   also run another retry-sidecar build (e.g. a copy of dist/ before a change;
                           the same dist/main.js to A/B node flags or settings only)
  --baseline-node-args=".." / --baseline-env=K=V   the same for the baseline row (default none)
  --sidecar=DIR/main.js    run that build as the retry-sidecar rows (default: dist/, rebuilt when stale)
  --cpu-prof[=row,row]     record a CPU profile of these rows (default: sidecar) into
                           bench/results/tmp/profiles/, summarised at the end
  --cached-start       start the cgroup rows from the repository's node and node_modules (already
                       cached) instead of a fresh uncached copy read inside the cgroup, as a container does
  --no-memory-report   do not preload bench/preload/memory-report.ts into the Node rows
  --no-readme          do not rewrite docs/performance.md
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
    "sidecar-node-flags",
    "sidecar-env",
    "baseline",
    "baseline-node-args",
    "baseline-env",
    "sidecar",
    "memory-limit",
    "memory-rows",
    "peers-node",
    "node24",
    "cpu-prof",
    "no-memory-report",
    "cached-start",
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
  // A count of rounds, connections or seconds is a whole number: 0.4 rounds to none, so it is refused.
  const count = (name: string, full: number, short: number) => {
    const value = Math.round(num(name, full, short));
    if (value < 1) throw new Error(`--${name} must be at least 1`);
    return value;
  };
  const isRow = (r: string): r is RowId => BASE_ROWS.includes(r as RowId) || /^sidecar@\S+$/.test(r);
  const list = (name: string) => (flags.get(name) ?? "").split(",").filter(Boolean);
  for (const r of list("rows")) if (!isRow(r)) throw new Error(`unknown row ${r}\n${HELP}`);
  const memoryRows = (flags.has("memory-rows") ? list("memory-rows") : MEMORY_ROWS.split(",")).map(
    (q) => `sidecar@${q}` as RowId,
  );
  const rows: RowId[] = flags.has("rows")
    ? [
        "direct",
        ...list("rows")
          .filter(isRow)
          .filter((r) => r !== "direct"),
      ]
    : [...BASE_ROWS, ...memoryRows];
  for (const r of rows) if (r.startsWith("sidecar@") && r !== "sidecar@none") parseQuantity(r.slice(8));
  const memoryLimit = flags.get("memory-limit");
  if (memoryLimit !== undefined && memoryLimit !== "none") parseQuantity(memoryLimit);
  const peersNode = flags.get("peers-node") ?? "24";
  if (peersNode !== "24" && peersNode !== "20") throw new Error("--peers-node must be 24 or 20");
  const cpuProf = flags.has("cpu-prof")
    ? flags.get("cpu-prof") === "true"
      ? (["sidecar"] as RowId[])
      : list("cpu-prof").filter(isRow)
    : [];
  const nodeArgs = (name: string) => (flags.get(name) ?? "").split(" ").filter(Boolean);
  const env = (name: string) =>
    Object.fromEntries(
      list(name).map((pair) => {
        const eq = pair.indexOf("=");
        if (eq < 1) throw new Error(`--${name} takes NAME=value pairs, comma-separated: not "${pair}"`);
        return [pair.slice(0, eq), pair.slice(eq + 1)];
      }),
    );
  return {
    quick,
    rounds: count("rounds", 5, 1),
    connections: count("connections", 32, 32),
    satSeconds: count("seconds", 5, 2),
    warmSeconds: quick ? 2 : 5,
    rate: num("rate", 1000, 1000),
    rateConnections: 50,
    rateSeconds: num("rate-seconds", 8, 2),
    scenarioSeconds: quick ? 1 : 4,
    scenarios: !flags.has("no-scenarios"),
    rows,
    sidecarNodeArgs: [...nodeArgs("sidecar-node-args"), ...nodeArgs("sidecar-node-flags")],
    sidecarEnv: env("sidecar-env"),
    baselineNodeArgs: nodeArgs("baseline-node-args"),
    baselineEnv: env("baseline-env"),
    memoryLimit,
    node24: absolute(flags.get("node24")),
    peersNode,
    cpuProf,
    memoryReport: !flags.has("no-memory-report"),
    freshStart: !flags.has("cached-start"),
    baselineMain: absolute(flags.get("baseline")),
    sidecarMain: absolute(flags.get("sidecar")),
    writeReadme:
      !quick &&
      !flags.has("no-readme") &&
      !flags.has("rows") &&
      [
        "sidecar-node-args",
        "sidecar-node-flags",
        "baseline",
        "sidecar-env",
        "sidecar",
        "memory-limit",
        "memory-rows",
        "peers-node",
        "node24",
        "cpu-prof",
        "cached-start",
      ].every((name) => !flags.has(name)),
    keepTemp: flags.has("keep-temp"),
    command: `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`,
  };
}

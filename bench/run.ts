/**
 * `npm run bench [-- --quick] [-- --rounds=N ...]`: retry-sidecar side by side with nginx, HAProxy
 * and Node peers on 127.0.0.1, interleaved round by round. Prints the table, writes
 * bench/results/{results.json,results.md,chart.svg} and docs/performance.md (full runs).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runFleet } from "./fleet/main.js";
import { type CgroupSample, manifestMemoryLimit, removeAllCgroupsSync } from "./lib/cgroup.js";
import { formatProfileSummary, summarizeProfile } from "./lib/cpuprofile.js";
import { dnsmasqInstalled, requestsPerEndpoint } from "./lib/dns-endpoints.js";
import { computeGoals } from "./lib/goals.js";
import { measureRound, summarizeRows, warmUp } from "./lib/measure.js";
import { BASE_ROWS, type BenchOptions, parseOptions } from "./lib/options.js";
import { killAllStartedSync, placement } from "./lib/procs.js";
import { chart, markdown, writeSection } from "./lib/report.js";
import { type BenchResults, isSidecarRow, ROW_LABELS, type RoundFigures, type RowId } from "./lib/results.js";
import {
  type RowContext,
  type Running,
  sidecarSpec,
  startRow,
  startSidecar,
  startUpstream,
} from "./lib/rows.js";
import { flakyScenarios, outageScenarios } from "./lib/scenarios.js";
import { ensureSidecarBuilt, ensureTools } from "./lib/setup.js";
import { shippedSettings } from "./lib/shipped.js";
import { writeLua } from "./lib/wrk.js";
import type { MemorySnapshot } from "./preload/memory-report.js";

// Compiled to bench/results/tmp/build/bench/run.js (the build's root is the repository, since the
// bench also compiles demo/dnsmasq.ts): buildDir is the compiled bench/, five levels below the root.
const buildDir = dirname(fileURLToPath(import.meta.url));
const repoDir = resolve(buildDir, "..", "..", "..", "..", "..");

const PERFORMANCE_INTRO = `How retry-sidecar compares with nginx, HAProxy and a Node.js peer on the happy path (a fast
upstream that always answers \`201\`), and how its retries behave in an outage. Reproduce with
\`npm run bench\` (installs wrk, nginx and HAProxy from Debian when missing; about ten minutes);
\`npm run bench -- --quick\` is the few-seconds-per-row smoke version that CI runs. Method and
choices: [bench/README.md](/bench/README.md).`;

function commit(): string {
  try {
    const hash = execFileSync("git", ["-C", repoDir, "rev-parse", "--short", "HEAD"]).toString().trim();
    const dirty = execFileSync("git", ["-C", repoDir, "status", "--porcelain", "src", "bench"])
      .toString()
      .trim();
    return dirty ? `${hash}+changes` : hash;
  } catch {
    return "unknown";
  }
}

/** The image's Node (Node 24): --node24, else what .ci/node24.sh fetches from the npm registry. */
function node24Binary(options: BenchOptions): string {
  if (options.node24) return options.node24;
  const out = execFileSync("bash", [join(repoDir, ".ci", "node24.sh")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.toString().trim().split("\n").pop() ?? "";
}

const version = (node: string) => execFileSync(node, ["--version"]).toString().trim().replace(/^v/, "");
const major = (v: string) => v.split(".")[0];

async function main(options: BenchOptions): Promise<void> {
  ensureTools({ dnsmasq: options.rows.includes("sidecar-3ep") });
  const node24 = node24Binary(options);
  const node20 = process.execPath;
  const versions = { node24: version(node24), node20: process.versions.node };
  const peersNode = options.peersNode === "24" ? node24 : node20;
  const manifestLimit = manifestMemoryLimit(repoDir);
  const limitSetting = options.memoryLimit ?? manifestLimit ?? "none";
  const memoryLimit = limitSetting === "none" ? undefined : limitSetting;
  const notes: string[] = [];
  if (major(versions.node20) !== "20") {
    notes.push(`The "Node 20" row ran on the machine's Node, which is ${versions.node20} here.`);
  }
  if (major(versions.node24) !== "24")
    notes.push(`The Node 24 rows ran on Node ${versions.node24} (--node24).`);
  const haveSidecar = options.sidecarMain !== undefined || ensureSidecarBuilt(repoDir);
  // Run what the image runs: dist/ bundled into one file by scripts/bundle.mjs (the Dockerfile's
  // build stage does the same), written to a private directory so that a build or a clean
  // elsewhere in the tree mid-run cannot pull it away (under the repository, so that
  // package.json's "type": "module" applies).
  const sidecarMain =
    options.sidecarMain ?? join(repoDir, "bench", "results", "tmp", "sidecar-dist", "main.js");
  if (haveSidecar && options.sidecarMain === undefined) {
    rmSync(dirname(sidecarMain), { recursive: true, force: true });
    execFileSync(process.execPath, [join(repoDir, "scripts", "bundle.mjs"), dirname(sidecarMain)], {
      cwd: repoDir,
      stdio: ["ignore", "inherit", "inherit"],
    });
  }
  const wanted = [
    ...BASE_ROWS.filter((id) => options.rows.includes(id)),
    ...options.rows.filter((id) => id.startsWith("sidecar@")),
    ...(options.baselineMain !== undefined ? (["baseline"] as RowId[]) : []),
  ];
  let rowIds = wanted.filter((id, i) => wanted.indexOf(id) === i && (haveSidecar || !isSidecarRow(id)));
  if (rowIds.includes("sidecar-3ep") && !dnsmasqInstalled()) {
    const why = "dnsmasq (/usr/sbin/dnsmasq, Debian's dnsmasq-base) is not installed";
    process.stderr.write(`bench: WARNING: skipping the sidecar-3ep row: ${why}\n`);
    notes.push(`The "retry-sidecar, 3 endpoints" row was skipped: ${why}.`);
    rowIds = rowIds.filter((id) => id !== "sidecar-3ep");
  }
  const profileDir = join(repoDir, "bench", "results", "tmp", "profiles");
  if (options.cpuProf.length > 0) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }
  const { proxyCpu, loadCpu } = placement();
  const pinning =
    proxyCpu === undefined
      ? "no CPU pinning (fewer than 2 CPUs)"
      : `proxy on CPU ${proxyCpu}, load + upstream on CPU ${loadCpu}`;
  const dir = mkdtempSync(join(tmpdir(), "retry-sidecar-bench-"));
  const lua = writeLua(dir, "saturation");
  const rateLua = writeLua(dir, "fixed-rate", (1000 * options.rateConnections) / options.rate);
  const running = new Map<RowId, Running>();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(
    `bench: ${options.quick ? "quick" : "full"} run, rows ${rowIds.join(", ")}; ${pinning}; temp dir ${dir}`,
  );
  log(
    `bench: sidecar rows on Node ${versions.node24} (${node24}) and ${versions.node20}, memory limit ${limitSetting}${options.memoryLimit === undefined ? " (k8s/components/retry-sidecar/native-sidecar.yaml)" : ""}; Node peers on ${options.peersNode === "24" ? versions.node24 : versions.node20}`,
  );

  const shipped = shippedSettings(repoDir);
  console.log(
    `bench: the image's settings for the sidecar rows: ${shipped.nodeArgs.join(" ") || "(no node flags)"} ${Object.entries(
      shipped.env,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")}`,
  );
  const upstream = await startUpstream(dir, loadCpu);
  try {
    const ctx: RowContext = {
      dir,
      buildDir,
      repoDir,
      proxyCpu,
      loadCpu,
      upstreamPort: upstream.ok,
      node24,
      node20,
      peersNode,
      // What ships (the Dockerfile's node flags and ENV) first; the command line's A/B options after.
      sidecarNodeArgs: [...shipped.nodeArgs, ...options.sidecarNodeArgs],
      sidecarEnv: { ...shipped.env, ...options.sidecarEnv },
      baselineNodeArgs: [...shipped.nodeArgs, ...options.baselineNodeArgs],
      baselineEnv: { ...shipped.env, ...options.baselineEnv },
      baselineMain: options.baselineMain,
      sidecarMain,
      memoryLimit,
      cpuProf: options.cpuProf,
      profileDir,
      memoryReport: options.memoryReport,
      freshStart: options.freshStart,
      log,
    };
    running.set("direct", { port: upstream.ok, pids: upstream.pids, stop: async () => {} });
    for (const id of rowIds) {
      if (id !== "direct") running.set(id, await startRow(id, ctx));
    }
    const describe = (id: RowId) => {
      const r = running.get(id);
      const node = r?.node === undefined ? undefined : r.node === node24 ? versions.node24 : versions.node20;
      const spec = sidecarSpec(id, ctx);
      const limit =
        spec === undefined
          ? undefined
          : r?.cgroup
            ? r.cgroup.limit
            : spec.memoryLimit === undefined
              ? "none"
              : `none (no cgroup: ${r?.cgroupError ?? "?"})`;
      // The memory rows repeat the shipped row at other limits: named so that one at the shipped
      // limit is not mistaken for the shipped row itself.
      const base = id.startsWith("sidecar@")
        ? "retry-sidecar, memory row"
        : ROW_LABELS[id as keyof typeof ROW_LABELS];
      const what = [
        node === undefined ? undefined : `Node ${major(node)}`,
        limit === undefined
          ? undefined
          : limit.startsWith("none (")
            ? "NO CGROUP"
            : limit === "none"
              ? "no limit"
              : limit,
      ].filter(Boolean);
      const label = what.length ? `${base} (${what.join(", ")})` : base;
      return {
        label,
        node,
        memoryLimit: limit,
        deaths: r?.deaths?.() ?? 0,
        ...(r?.freshStart ? { freshStart: true } : {}),
      };
    };
    for (const id of rowIds) {
      const error = running.get(id)?.cgroupError;
      if (error) notes.push(`${describe(id).label} ran outside any memory cgroup: ${error}.`);
    }
    const measureCtx = {
      options,
      lua,
      rateLua,
      buildDir,
      loadCpu,
      log,
      idleRss: new Map<RowId, number>(),
      idleCgroup: new Map<RowId, CgroupSample>(),
      memory: new Map<RowId, MemorySnapshot>(),
    };
    await warmUp(rowIds, running, measureCtx);

    const perRound: Map<RowId, RoundFigures[]> = new Map(rowIds.map((id) => [id, []]));
    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order each round so no row always runs first or last.
      const order = rowIds.map((_, i) => rowIds[(i + round) % rowIds.length] as RowId);
      const figures = await measureRound(round, order, running, measureCtx);
      for (const [id, f] of figures) perRound.get(id)?.push(f);
    }
    for (const id of rowIds) if (id !== "direct") await running.get(id)?.stop();
    if (running.has("sidecar-3ep")) notes.push(await endpointSpread(join(dir, "sidecar-3ep.out")));

    const rows = summarizeRows(rowIds, perRound, describe, measureCtx);
    const results: BenchResults = {
      meta: {
        date: new Date().toISOString(),
        command: options.command,
        commit: commit(),
        node: process.versions.node,
        cpus: availableParallelism(),
        pinning,
        rounds: options.rounds,
        connections: options.connections,
        satSeconds: options.satSeconds,
        rate: options.rate,
        rateSeconds: options.rateSeconds,
        quick: options.quick,
        node24: versions.node24,
        node20: versions.node20,
        peersNode: options.peersNode === "24" ? versions.node24 : versions.node20,
        memoryLimit: `${limitSetting}${options.memoryLimit === undefined ? " (k8s/components/retry-sidecar/native-sidecar.yaml)" : " (--memory-limit)"}`,
      },
      rows,
      goals: computeGoals({
        perRound,
        idleRss: measureCtx.idleRss,
        idleCgroup: measureCtx.idleCgroup,
        deaths: (id) => running.get(id)?.deaths?.() ?? 0,
      }),
      outage: [],
      flaky: [],
      notes,
    };
    if (haveSidecar && options.scenarios) {
      log("bench: retry scenarios");
      const scenarioCtx = {
        dir,
        buildDir,
        loadCpu,
        outagePort: upstream.outage,
        flakyPort: upstream.flaky,
        seconds: options.scenarioSeconds,
        startSidecar: async (port: number, env: Record<string, string>) => {
          // The shipped row's Node, limit and settings, plus the scenario's.
          const spec = sidecarSpec("sidecar", ctx);
          if (!spec) throw new Error("no sidecar");
          const s = await startSidecar(ctx, "sidecar-scenario", port, {
            ...spec,
            env: { ...spec.env, ...env },
          });
          return { port: s.port, stop: s.stop };
        },
      };
      results.outage = await outageScenarios(scenarioCtx);
      results.flaky = await flakyScenarios(scenarioCtx);
    }
    if (!haveSidecar)
      results.notes.push("retry-sidecar is not built yet (no src/main.ts): its row is missing.");
    if (options.cpuProf.length > 0 && existsSync(profileDir)) {
      results.profiles = readdirSync(profileDir)
        .filter((f) => f.endsWith(".cpuprofile"))
        .map((f) => ({
          row: f.replace(/\.cpuprofile$/, ""),
          file: join(profileDir, f),
          summary: formatProfileSummary(summarizeProfile(join(profileDir, f))),
        }));
      for (const p of results.profiles)
        writeFileSync(p.file.replace(/\.cpuprofile$/, ".top.txt"), `${p.summary}\n`);
    }
    report(results, options);
  } finally {
    for (const [id, r] of running) if (id !== "direct") await r.stop();
    await upstream.stop();
    if (!options.keepTemp) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * How the three-endpoint row's requests spread over its endpoints, from the `endpoint` field of its
 * `request completed` log lines (warm-up, saturation and fixed rate, after the rows stopped so that
 * the log is complete). Fewer than three endpoints with requests is a broken row, said loudly.
 */
async function endpointSpread(logFile: string): Promise<string> {
  const counts = [...(await requestsPerEndpoint(logFile))].sort(([a], [b]) => a.localeCompare(b));
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  const list = counts.map(([e, n]) => `${e} ${n} (${((100 * n) / total).toFixed(1)}%)`).join(", ");
  const line = `retry-sidecar, 3 endpoints: requests per endpoint over the whole run (its log): ${list || "none"}.`;
  if (counts.length >= 3) return line;
  process.stderr.write(`bench: WARNING: ${line}\n`);
  return `WARNING: ${line}`;
}

function report(results: BenchResults, options: BenchOptions): void {
  // Only a full run of every row goes to bench/results/ (and docs/performance.md); the rest to tmp/.
  const outDir = options.quick
    ? join(repoDir, "bench", "results", "tmp", "quick")
    : options.writeReadme
      ? join(repoDir, "bench", "results")
      : join(repoDir, "bench", "results", "tmp", "last");
  mkdirSync(outDir, { recursive: true });
  // results.md links the chart beside it; docs/performance.md links it from docs/.
  const md = markdown(results, "chart.svg");
  writeFileSync(join(outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, "results.md"), `${md}\n`);
  writeFileSync(join(outDir, "chart.svg"), chart(results));
  process.stdout.write(`\n${md}\n\nwritten: ${outDir}/{results.json,results.md,chart.svg}\n`);
  if (options.writeReadme) {
    const target = join(repoDir, "docs", "performance.md");
    mkdirSync(dirname(target), { recursive: true });
    writeSection(target, markdown(results, "/bench/results/chart.svg"), PERFORMANCE_INTRO);
    process.stdout.write(`updated: ${target}\n`);
  }
}

// `npm run bench -- --fleet [options]` is the fleet check (`npm run fleet`, bench/fleet/).
const argv = process.argv.slice(2);
if (argv.includes("--fleet")) {
  runFleet(argv);
} else {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAllStartedSync();
      removeAllCgroupsSync();
      process.exit(130);
    });
  }
  main(parseOptions(argv)).catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
    killAllStartedSync();
    removeAllCgroupsSync();
    process.exit(1);
  });
}

/**
 * `npm run bench [-- --quick] [-- --rounds=N ...]`: retry-sidecar side by side with nginx, HAProxy
 * and Node peers on 127.0.0.1, interleaved round by round. Prints the table, writes
 * bench/results/{results.json,results.md,chart.svg} and the README's Performance section (full runs).
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { computeGoals, measureRound, summarizeRows, warmUp } from "./lib/measure.js";
import { type BenchOptions, parseOptions } from "./lib/options.js";
import { killAllStartedSync, placement } from "./lib/procs.js";
import { chart, markdown, writeSection } from "./lib/report.js";
import { type BenchResults, ROW_LABELS, type RoundFigures, type RowId } from "./lib/results.js";
import { type RowContext, type Running, startRow, startSidecar, startUpstream } from "./lib/rows.js";
import { flakyScenarios, outageScenarios } from "./lib/scenarios.js";
import { ensureSidecarBuilt, ensureTools } from "./lib/setup.js";
import { writeLua } from "./lib/wrk.js";

const buildDir = dirname(fileURLToPath(import.meta.url));
const repoDir = resolve(buildDir, "..", "..", "..", "..");
const ROW_ORDER: RowId[] = ["direct", "nginx", "haproxy", "fastify", "bare", "sidecar", "baseline"];

const README_INTRO = `How retry-sidecar compares with nginx, HAProxy and a Node.js peer on the happy path (a fast
upstream that always answers \`201\`), and how its retries behave in an outage. Reproduce with
\`npm run bench\` (installs wrk, nginx and HAProxy from Debian when missing; about ten minutes);
\`npm run bench -- --quick\` is the few-seconds-per-row smoke version that CI runs. Method and
choices: [bench/README.md](bench/README.md).`;

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

async function main(options: BenchOptions): Promise<void> {
  ensureTools();
  const haveSidecar = options.sidecarMain !== undefined || ensureSidecarBuilt(repoDir);
  // Run a private copy of dist/: a build or a clean elsewhere in the tree mid-run cannot pull it
  // away (it stays under the repository so that node_modules still resolves).
  const sidecarMain =
    options.sidecarMain ?? join(repoDir, "bench", "results", "tmp", "sidecar-dist", "main.js");
  if (haveSidecar && options.sidecarMain === undefined) {
    rmSync(dirname(sidecarMain), { recursive: true, force: true });
    cpSync(join(repoDir, "dist"), dirname(sidecarMain), { recursive: true });
  }
  const rowIds = ROW_ORDER.filter(
    (id) =>
      (options.rows.includes(id) && (id !== "sidecar" || haveSidecar)) ||
      (id === "baseline" && options.baselineMain !== undefined),
  );
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

  const upstream = await startUpstream(dir, loadCpu);
  try {
    const ctx: RowContext = {
      dir,
      buildDir,
      repoDir,
      proxyCpu,
      upstreamPort: upstream.ok,
      sidecarNodeArgs: options.sidecarNodeArgs,
      sidecarEnv: options.sidecarEnv,
      baselineMain: options.baselineMain,
      sidecarMain,
    };
    running.set("direct", { port: upstream.ok, pids: upstream.pids, stop: async () => {} });
    for (const id of rowIds) {
      if (id !== "direct") running.set(id, await startRow(id, ctx));
    }
    const measureCtx = { options, lua, rateLua, buildDir, loadCpu, log };
    await warmUp(rowIds, running, measureCtx);

    const perRound: Map<RowId, RoundFigures[]> = new Map(rowIds.map((id) => [id, []]));
    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order each round so no row always runs first or last.
      const order = rowIds.map((_, i) => rowIds[(i + round) % rowIds.length] as RowId);
      const figures = await measureRound(round, order, running, measureCtx);
      for (const [id, f] of figures) perRound.get(id)?.push(f);
    }
    for (const id of rowIds) if (id !== "direct") await running.get(id)?.stop();

    const rows = summarizeRows(rowIds, perRound, ROW_LABELS);
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
      },
      rows,
      goals: computeGoals(perRound),
      outage: [],
      flaky: [],
      notes: [],
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
          const s = await startSidecar(ctx, "sidecar-scenario", port, env);
          return { port: s.port, stop: s.stop };
        },
      };
      results.outage = await outageScenarios(scenarioCtx);
      results.flaky = await flakyScenarios(scenarioCtx);
    }
    if (!haveSidecar)
      results.notes.push("retry-sidecar is not built yet (no src/main.ts): its row is missing.");
    report(results, options);
  } finally {
    for (const [id, r] of running) if (id !== "direct") await r.stop();
    await upstream.stop();
    if (!options.keepTemp) rmSync(dir, { recursive: true, force: true });
  }
}

function report(results: BenchResults, options: BenchOptions): void {
  // Only a full run of every row goes to bench/results/ (and the README); the rest to tmp/.
  const outDir = options.quick
    ? join(repoDir, "bench", "results", "tmp", "quick")
    : options.writeReadme
      ? join(repoDir, "bench", "results")
      : join(repoDir, "bench", "results", "tmp", "last");
  mkdirSync(outDir, { recursive: true });
  const md = markdown(results, options.writeReadme ? "bench/results/chart.svg" : "chart.svg");
  writeFileSync(join(outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, "results.md"), `${md}\n`);
  writeFileSync(join(outDir, "chart.svg"), chart(results));
  process.stdout.write(`\n${md}\n\nwritten: ${outDir}/{results.json,results.md,chart.svg}\n`);
  if (options.writeReadme) {
    const readme = join(repoDir, "README.md");
    const target = existsSync(readme) ? readme : join(repoDir, "docs", "performance.md");
    mkdirSync(dirname(target), { recursive: true });
    writeSection(target, md, README_INTRO);
    process.stdout.write(`updated: ${target}\n`);
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAllStartedSync();
    process.exit(130);
  });
}
main(parseOptions(process.argv.slice(2))).catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  killAllStartedSync();
  process.exit(1);
});

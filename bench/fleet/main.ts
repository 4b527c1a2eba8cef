/**
 * `npm run fleet [-- --quick] [-- --scenario=overload-drop --pods=30 ...]`: real sidecar processes
 * (one per pod) in front of one billing process on loopback, in the fleet scenarios shared with the
 * simulator. Prints the table; writes results.md, results.json and the charts (see docs/fleet-check.md).
 */
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type Dnsmasq, dnsmasqInstalled, startDnsmasq } from "../../demo/dnsmasq.js";
import { killAllStartedSync, rememberPid } from "../lib/procs.js";
import { ensureSidecarBuilt } from "../lib/setup.js";
import { commitOf } from "./commit.js";
import { haproxyInstalled } from "./door-haproxy.js";
import { type FleetOptions, parseFleetOptions, USAGE } from "./options.js";
import { raisePriority } from "./priority.js";
import { markdownTable, mergeResults, type StoredResult, writeReport } from "./report.js";
import { type RunContext, runVariant } from "./run-variant.js";
import { allScenarios, DOOR_VARIANT, type Scenario } from "./scenarios.js";
import { INSTANCES } from "./upstream-servers.js";

// Compiled to bench/results/tmp/build/bench/fleet/main.js: the build's bench/ is one level up.
const buildDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoDir = resolve(buildDir, "..", "..", "..", "..", "..");
const DNS_NAME = "billing.test";

const log = (line: string) => process.stderr.write(`fleet: ${line}\n`);

async function runScenario(
  scenario: Scenario,
  options: FleetOptions,
  ctx: RunContext,
): Promise<StoredResult[]> {
  const stamp = { commit: commitOf(repoDir), date: new Date().toISOString() };
  const one = async (variant: FleetOptions["variants"][number], context = ctx) => {
    const result = await runVariant(scenario, variant, context);
    log(
      `  ${scenario.name} ${variant}: success ${(result.success * 100).toFixed(1)}%, ${result.attemptsPerRequest.toFixed(2)} attempts/request`,
    );
    return { ...result, ...stamp };
  };
  const sideBySide =
    options.sideBySide === "all" || (options.sideBySide === "auto" && scenario.model.kind !== "fifo");
  if (!sideBySide) {
    const out: StoredResult[] = [];
    for (const variant of options.variants) out.push(await one(variant));
    return out;
  }
  // Side by side: each variant has its own billing process and its own sidecars; the loads start
  // together once every variant's processes are up, and a second later (their start-up settles).
  let arrived = 0;
  let release = () => {};
  const allReady = new Promise<void>((resolve) => {
    release = resolve;
  }).then(() => sleep(1000));
  const ready = () => {
    arrived++;
    if (arrived === options.variants.length) release();
    return allReady;
  };
  return Promise.all(options.variants.map((variant) => one(variant, { ...ctx, ready })));
}

async function main(options: FleetOptions): Promise<void> {
  raisePriority();
  if (!ensureSidecarBuilt(repoDir)) throw new Error("no src/main.ts to build");
  const outDir = resolve(repoDir, options.out);
  const logDir = join(repoDir, "bench", "results", "tmp", "fleet-logs");
  mkdirSync(outDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const ctx: RunContext = {
    buildDir,
    sidecarMain: join(repoDir, "dist", "main.js"),
    logDir,
    pods: options.pods,
    seed: options.seed,
  };
  if (options.variants.includes(DOOR_VARIANT) && !haproxyInstalled())
    throw new Error(`the ${DOOR_VARIANT} row needs HAProxy: apt-get install -y haproxy`);
  const scenarios = allScenarios(options.seconds, options.triggerScale).filter((s) =>
    options.scenarios.includes(s.name),
  );
  const notes: string[] = [];
  const fresh: StoredResult[] = [];
  for (const scenario of scenarios) {
    let dns: Dnsmasq | undefined;
    if (scenario.model.kind === "sick" && scenario.model.service === "headless") {
      if (!dnsmasqInstalled()) {
        notes.push(`${scenario.name} skipped: dnsmasq is not installed (Debian package dnsmasq-base)`);
        log(notes.at(-1) as string);
        continue;
      }
      dns = await startDnsmasq({ [DNS_NAME]: INSTANCES });
    }
    const forget = rememberPid(dns?.pid);
    try {
      log(`${scenario.name}: ${options.variants.join(", ")} × ${options.pods} pods, ${scenario.seconds} s`);
      const started = performance.now();
      fresh.push(
        ...(await runScenario(scenario, options, {
          ...ctx,
          ...(dns ? { dns: { server: dns.server, name: DNS_NAME } } : {}),
        })),
      );
      log(`${scenario.name}: done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    } finally {
      await dns?.stop();
      forget();
    }
  }
  process.stdout.write(`${markdownTable(fresh)}\n`);
  for (const note of notes) process.stdout.write(`${note}\n`);
  for (const file of writeReport(outDir, mergeResults(outDir, fresh))) log(`wrote ${file}`);
}

export function runFleet(argv: readonly string[]): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAllStartedSync();
      process.exit(130);
    });
  }
  if (argv.includes("--help")) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let options: FleetOptions;
  try {
    options = parseFleetOptions(argv);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  main(options).catch((error: unknown) => {
    process.stderr.write(`fleet failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    killAllStartedSync();
    process.exit(1);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  runFleet(process.argv.slice(2));

import { closeSync, openSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { loadConfig } from "../src/config/load-config.js";
import { startSidecar } from "../src/sidecar.js";
import { type BillingStats, DEFAULT_FAULT_RATES, startFlakyBilling } from "./flaky-billing.js";
import { type RequestResult, runLoad } from "./load-client.js";
import {
  counterByLabel,
  type DemoReport,
  type EndpointsPart,
  failureRate,
  formatEndpointsPart,
  formatReport,
  summarize,
} from "./report.js";
import { INSTANCES, runSickInstance, SICK } from "./sick-instance.js";

// `npm run demo`, in two parts. First, the same workload three times against a fresh flaky
// billing service with the same seed - straight to it, straight to it with a naive app-side retry
// loop, and through the sidecar - then one table. Second, billing as three instances, one of them
// sick: the naive app against the sidecar, behind three addresses (a headless Service) and behind
// one (a ClusterIP). Exits non-zero when the sidecar did not clearly help.

const SEED = Number(process.env.DEMO_SEED ?? 42);
const WATCHDOG_MS = 28_000; // docs/contract.md "Demo" promises an exit within 30 s
const LOAD = { requests: 300, concurrency: 20, timeoutMs: 2000 } as const;
// The second part: fewer requests (no slow faults, so it is quick anyway), within the default
// retry budget even when a third of the first attempts fail.
const SICK_LOAD = { requests: 150, concurrency: 15, timeoutMs: 2000 } as const;
const SLOW_MS = 2500; // a hung billing call: longer than the app's patience
// The sidecar's defaults are for production (500 ms backoff, 5 s per try); these make the demo
// finish in seconds. Everything else keeps its default: MAX_RETRIES 3, the retry budget, the
// circuit breaker, Idempotency-Key.
const SIDECAR_TUNING = {
  BACKOFF_BASE_MS: "50",
  PER_TRY_TIMEOUT_MS: "300",
  REQUEST_TIMEOUT_MS: "1800", // below the app's 2 s, so the app hears the sidecar's answer
  SHUTDOWN_GRACE_MS: "2000",
};
// Nothing hangs in the second part: a longer per-try timeout keeps a busy machine's pauses from
// showing up as timeouts there.
const SICK_TUNING = { ...SIDECAR_TUNING, PER_TRY_TIMEOUT_MS: "1000" };
const LISTENERS = { LISTEN_HOST: "127.0.0.1", PORT: "0", ADMIN_HOST: "127.0.0.1", ADMIN_PORT: "0" };
const LOG_PATH = join(tmpdir(), "retry-sidecar-demo.log");

async function main(): Promise<number> {
  const out = (line = "") => process.stdout.write(`${line}\n`);
  const rate = (fault: keyof typeof DEFAULT_FAULT_RATES) =>
    `${Math.round(DEFAULT_FAULT_RATES[fault] * 100)}%`;
  const tuning = Object.entries(SIDECAR_TUNING).map(([name, value]) => `${name}=${value}`);
  out(`retry-sidecar demo: ${LOAD.requests} × POST /provider, ${LOAD.concurrency} at a time, seed ${SEED}`);
  out(
    `  billing faults per attempt: ${rate("503")} 503, ${rate("429")} 429 (Retry-After: 1), ${rate("reset")} reset,`,
  );
  out(`    ${rate("lost")} created-then-reset, ${rate("slow")} created-then-hangs ${SLOW_MS / 1000} s`);
  out(`  the app gives up on a call after ${LOAD.timeoutMs / 1000} s and sends no Idempotency-Key`);
  out(`  sidecar settings: ${tuning.join(" ")} (others default)`);
  out(`  sidecar logs (pino JSON): ${LOG_PATH}`);
  out();

  await warmUp();
  const direct = await measure("no sidecar", (url) => runLoad({ ...LOAD, url }));
  const naive = await measure("app retries 3×", (url) => runLoad({ ...LOAD, url, appRetries: 3 }));

  const logFd = openSync(LOG_PATH, "w");
  let metricsText = "";
  const sidecarRun = await measure("with sidecar", async (url) => {
    const config = loadConfig({ ...LISTENERS, ...SIDECAR_TUNING, UPSTREAM_URL: url });
    const sidecar = await startSidecar(config, { logDestination: { write: (s) => writeSync(logFd, s) } });
    try {
      const results = await runLoad({ ...LOAD, url: `http://127.0.0.1:${sidecar.proxyPort}` });
      // The retry reasons come from the sidecar's real /metrics endpoint, as Prometheus sees them.
      metricsText = await (await fetch(`http://127.0.0.1:${sidecar.adminPort}/metrics`)).text();
      return results;
    } finally {
      await sidecar.shutdown();
    }
  });
  closeSync(logFd);

  const report: DemoReport = {
    runs: [direct, naive, sidecarRun],
    retriesByReason: counterByLabel(metricsText, "retry_sidecar_retries_total", "reason"),
    skippedByReason: counterByLabel(metricsText, "retry_sidecar_retries_skipped_total", "reason"),
  };
  out();
  process.stdout.write(formatReport(report, { color: process.stdout.isTTY === true }));

  out();
  out(`Part 2: billing as three instances on ${INSTANCES.join(", ")} (one port), ${SICK} sick (503 to all)`);
  out(
    `  ${SICK_LOAD.requests} × POST /provider, ${SICK_LOAD.concurrency} at a time; the app keeps one connection per`,
  );
  out(
    "    worker and retries 3× on it at once; the sidecar: PER_TRY_TIMEOUT_MS=1000, ENDPOINT_EJECT_AFTER=5 and",
  );
  out("    ENDPOINT_EJECT_MS=30000 (the defaults), the rest as above");
  const sick = await runSickInstance({
    seed: SEED,
    load: SICK_LOAD,
    appRetries: 3,
    sidecarEnv: { ...LISTENERS, ...SICK_TUNING },
    logPath: LOG_PATH,
    progress: out,
  });
  const color = { color: process.stdout.isTTY === true };
  out();
  if (sick.headless === undefined) {
    out(
      "  (skipped: three addresses need a DNS server, and dnsmasq is not installed: apt-get install dnsmasq-base)",
    );
  } else {
    process.stdout.write(formatEndpointsPart(sick.headless, color));
  }
  out();
  process.stdout.write(formatEndpointsPart(sick.clusterIp, color));
  out();
  out(
    "  Behind a headless Service the sidecar sees every instance: retries avoid the one that failed and the",
  );
  out("  sick one is ejected. Behind a ClusterIP it can only ask for a new connection (docs/kubernetes.md).");

  // Clearly broken: the sidecar made things no better, or created a provider twice.
  const worse = (part: EndpointsPart) => {
    const [app, sidecar] = [part.runs[0], part.runs.at(-1)];
    return app !== undefined && sidecar !== undefined && failureRate(sidecar) >= failureRate(app);
  };
  const problems = [
    sidecarRun.duplicates > 0 && `the sidecar run created ${sidecarRun.duplicates} duplicate providers`,
    failureRate(sidecarRun) >= failureRate(direct) && "the sidecar did not lower the failure rate",
    sick.headless !== undefined &&
      worse(sick.headless) &&
      "three addresses: the sidecar did not lower the failure rate",
    sick.headless !== undefined &&
      sick.headless.ejection === undefined &&
      "three addresses: the sick one was not ejected",
    worse(sick.clusterIp) && "one address: the sidecar did not lower the failure rate",
  ].filter((p): p is string => typeof p === "string");
  for (const problem of problems) process.stderr.write(`demo: FAILED: ${problem}\n`);
  return problems.length === 0 ? 0 : 1;
}

/** A few fault-free calls first, so the first measured run does not pay for JIT warm-up alone. */
async function warmUp(): Promise<void> {
  const billing = await startFlakyBilling({ seed: SEED, decide: () => "none" });
  try {
    await runLoad({ ...LOAD, requests: 100, url: billing.url });
  } finally {
    await billing.close();
  }
}

/** One run against a fresh billing service with the same seed; returns its table column. */
async function measure(label: string, load: (billingUrl: string) => Promise<RequestResult[]>) {
  const billing = await startFlakyBilling({ seed: SEED, slowMs: SLOW_MS });
  const started = performance.now();
  let results: RequestResult[];
  let stats: BillingStats;
  try {
    results = await load(billing.url);
    stats = { ...billing.stats };
  } finally {
    await billing.close();
  }
  process.stdout.write(`  ran "${label}" in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return summarize(label, results, stats);
}

const watchdog = setTimeout(() => {
  process.stderr.write(`demo: FAILED: still running after ${WATCHDOG_MS / 1000} s\n`);
  process.exit(1);
}, WATCHDOG_MS);

main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    process.stderr.write(
      `demo: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`,
    );
    process.exitCode = 1;
  })
  .finally(() => clearTimeout(watchdog));

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { openLoop } from "./load.js";
import type { FlakyScenario, OutageScenario } from "./results.js";

/** Starts a retry-sidecar with extra settings in front of the given upstream port. */
export type StartSidecar = (
  upstreamPort: number,
  env: Record<string, string>,
) => Promise<{ port: number; stop: () => Promise<void> }>;

export interface ScenarioContext {
  dir: string;
  buildDir: string;
  loadCpu: string | undefined;
  outagePort: number;
  flakyPort: number;
  startSidecar: StartSidecar;
  seconds: number;
}

/**
 * Fast backoff so a scenario takes seconds; the breaker and the retry throttle off so that only
 * the budget limits retries (the throttle's own figures come from `npm run sim`, docs/resilience.md).
 */
const FAST_RETRIES = {
  BACKOFF_BASE_MS: "1",
  BACKOFF_MAX_MS: "8",
  BACKOFF_JITTER: "0",
  CIRCUIT_FAILURE_THRESHOLD: "0",
  RETRY_THROTTLE: "off",
};
const BUDGET_OFF = { RETRY_BUDGET_MIN_PER_SEC: "1000000" };

/** Requests the upstream's access log has recorded so far (nginx writes one line per request). */
function logLines(file: string): number {
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, "utf8");
  let count = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) count++;
  return count;
}

async function measure(
  ctx: ScenarioContext,
  upstreamPort: number,
  log: string,
  env: Record<string, string>,
  rate: number,
  headers: Record<string, string> = {},
) {
  const sidecar = await ctx.startSidecar(upstreamPort, env);
  try {
    const before = logLines(log);
    const result = await openLoop({
      buildDir: ctx.buildDir,
      url: `http://127.0.0.1:${sidecar.port}/provider`,
      rate,
      seconds: ctx.seconds,
      cpu: ctx.loadCpu,
      headers,
    });
    const attempts = logLines(log) - before;
    return { result, attempts };
  } finally {
    await sidecar.stop();
  }
}

export async function outageScenarios(ctx: ScenarioContext): Promise<OutageScenario[]> {
  const log = join(ctx.dir, "upstream-outage.log");
  const rate = 200;
  const out: OutageScenario[] = [];
  for (const [name, budgetOn] of [
    ["budget on (defaults: 0.2 ratio + 10/s)", true],
    ["budget off (RETRY_BUDGET_MIN_PER_SEC=1e6)", false],
  ] as const) {
    const env = budgetOn ? FAST_RETRIES : { ...FAST_RETRIES, ...BUDGET_OFF };
    const { result, attempts } = await measure(ctx, ctx.outagePort, log, env, rate);
    const n = result.completed;
    // The budget's 10 s window covers the whole run: retries < 10/s × 10 s + 0.2 × requests.
    const expected = budgetOn
      ? `≈ ${(1 + Math.min(3 * n, 100 + 0.2 * n) / n).toFixed(2)} (1 + (100 + 0.2·N)/N)`
      : "4.00 (1 + MAX_RETRIES)";
    out.push({
      name,
      clientRequests: n,
      upstreamAttempts: attempts,
      attemptsPerRequest: attempts / n,
      expected,
    });
  }
  return out;
}

export async function flakyScenarios(ctx: ScenarioContext): Promise<FlakyScenario[]> {
  const log = join(ctx.dir, "upstream-flaky.log");
  const rate = 300;
  const cases: { name: string; retries: number; env: Record<string, string> }[] = [0, 1, 2, 3].map(
    (retries) => ({
      name: `budget off, x-retry-max: ${retries}`,
      retries,
      env: { ...FAST_RETRIES, ...BUDGET_OFF },
    }),
  );
  cases.push({ name: "budget on (defaults), 3 retries", retries: 3, env: FAST_RETRIES });
  const out: FlakyScenario[] = [];
  for (const c of cases) {
    const { result, attempts } = await measure(ctx, ctx.flakyPort, log, c.env, rate, {
      "x-retry-max": String(c.retries),
    });
    const succeeded = result.statuses["201"] ?? 0;
    out.push({
      name: c.name,
      retries: c.retries,
      clientRequests: result.completed,
      succeeded,
      successRate: succeeded / result.completed,
      theory: 1 - 0.3 ** (c.retries + 1),
      upstreamAttempts: attempts,
    });
  }
  return out;
}

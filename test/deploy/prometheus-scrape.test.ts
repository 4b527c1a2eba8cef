import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  alertRules,
  dashboardQueries,
  ruleGroups,
  withoutGrafanaVariables,
} from "./helpers/observability.js";
import { repoRoot, requireBuild } from "./helpers/paths.js";
import {
  type FlakyUpstream,
  freePort,
  type RunningProcess,
  type Sidecar,
  sendRequests,
  sidecarEnv,
  startFlakyUpstream,
  startProcess,
  startSidecar,
  waitFor,
} from "./helpers/processes.js";

// A real Prometheus (Debian's `prometheus` package) on 127.0.0.1, scraping a real sidecar every
// second while it retries against a flaky upstream, with the alert rules of k8s/ loaded.
const main = requireBuild();
const dir = mkdtempSync(join(tmpdir(), "retry-sidecar-prometheus-"));
let upstream: FlakyUpstream;
let sidecar: Sidecar;
let prometheus: RunningProcess;
let prometheusUrl = "";

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(
  promql: string,
): Promise<{ status: string; error?: string; data?: { result: Sample[] } }> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  return (await res.json()) as { status: string; error?: string; data?: { result: Sample[] } };
}

/** Polls a query until it returns at least one sample, sending a few requests between polls. */
function waitForSamples(promql: string): Promise<Sample[]> {
  return waitFor(
    `Prometheus to return ${promql}`,
    async () => {
      await sendRequests(sidecar.proxyUrl, 4);
      const result = await query(promql);
      return result.data?.result.length ? result.data.result : undefined;
    },
    45_000,
    500,
  );
}

beforeAll(async () => {
  upstream = await startFlakyUpstream(2);
  sidecar = await startSidecar(main, repoRoot, await sidecarEnv(upstream.url));
  writeFileSync(join(dir, "rules.yml"), stringify({ groups: ruleGroups() }));
  writeFileSync(
    join(dir, "prometheus.yml"),
    stringify({
      global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
      rule_files: ["rules.yml"],
      scrape_configs: [
        {
          job_name: "retry-sidecar",
          static_configs: [{ targets: [new URL(sidecar.adminUrl).host] }],
        },
      ],
    }),
  );
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = startProcess(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
    ],
    { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } },
  );
  try {
    const outcome = await waitFor(
      "Prometheus to be ready",
      async () => {
        if (prometheus.child.exitCode !== null) return `exited with code ${prometheus.child.exitCode}`;
        return (await fetch(`${prometheusUrl}/-/ready`)).ok ? "ready" : undefined;
      },
      30_000,
      200,
    );
    if (outcome !== "ready") throw new Error(outcome);
  } catch (error) {
    throw new Error(`prometheus did not start:\n${prometheus.output()}`, { cause: error });
  }
});

afterAll(async () => {
  await prometheus?.stop();
  await sidecar?.stop();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("a real Prometheus scraping a retrying sidecar", () => {
  it("sees the sidecar up", async () => {
    const [up] = await waitForSamples('up{job="retry-sidecar"} == 1');
    expect(up?.value[1]).toBe("1");
  });

  it("counts the retries the sidecar made", async () => {
    const [retries] = await waitForSamples("sum(retry_sidecar_retries_total) > 0");
    expect(Number(retries?.value[1])).toBeGreaterThan(0);
    const [recovered] = await waitForSamples("sum(retry_sidecar_retry_success_total) > 0");
    expect(Number(recovered?.value[1])).toBeGreaterThan(0);
  });

  it("loads the alert rules and evaluates them without errors", async () => {
    const rules = await waitFor(
      "the rules' first evaluation",
      async () => {
        const res = await fetch(`${prometheusUrl}/api/v1/rules?type=alert`);
        const body = (await res.json()) as {
          data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
        };
        const all = body.data.groups.flatMap((g) => g.rules);
        return all.length > 0 && all.every((r) => r.health !== "unknown") ? all : undefined;
      },
      20_000,
      250,
    );
    expect(rules.map((r) => r.name).sort()).toEqual(
      alertRules()
        .map((r) => r.alert)
        .sort(),
    );
    for (const rule of rules) expect(rule.health, `${rule.name}: ${rule.lastError}`).toBe("ok");
  });

  it("answers every alert and dashboard query", async () => {
    // Wait for two scrapes with traffic between them, so that rate() has something to say.
    await waitForSamples("sum(rate(retry_sidecar_requests_total[1m])) > 0");
    const queries = [
      ...alertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
      ...dashboardQueries().map((q) => ({ ...q, expr: withoutGrafanaVariables(q.expr) })),
    ];
    for (const { where, expr } of queries) {
      const result = await query(expr);
      expect(result.status, `${where}: ${result.error}`).toBe("success");
    }
    // The panels an operator reads first have data.
    for (const title of ["Requests by status code", "Retries by reason", "Latency p50 / p99"]) {
      const panelQueries = dashboardQueries().filter((q) => q.where.startsWith(`panel "${title}"`));
      for (const q of panelQueries) {
        const result = await query(withoutGrafanaVariables(q.expr));
        expect(result.data?.result.length, `${q.where} returned nothing`).toBeGreaterThan(0);
      }
    }
  });
});

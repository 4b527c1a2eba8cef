import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEnvFile } from "./helpers/kustomize.js";
import {
  alertRules,
  dashboardQueries,
  exportedMetricNames,
  metricNamesIn,
  SYNTHETIC_METRICS,
} from "./helpers/observability.js";
import { componentDir, k8sDir, repoRoot, requireBuild } from "./helpers/paths.js";
import {
  type FlakyUpstream,
  type Sidecar,
  sendRequests,
  sidecarEnv,
  startFlakyUpstream,
  startSidecar,
} from "./helpers/processes.js";

const main = requireBuild();
// The settings ConfigMap of k8s/ as kustomize builds it: the example's own file, then the
// component's listener settings merged over it.
const k8sSettings = {
  ...parseEnvFile(readFileSync(join(k8sDir, "retry-sidecar.env"), "utf8")),
  ...parseEnvFile(readFileSync(join(componentDir, "listeners.env"), "utf8")),
};

let upstream: FlakyUpstream;
let sidecar: Sidecar;
let exposition = "";

beforeAll(async () => {
  upstream = await startFlakyUpstream(2);
  sidecar = await startSidecar(main, repoRoot, await sidecarEnv(upstream.url));
  const statuses = await sendRequests(sidecar.proxyUrl, 20);
  expect(
    statuses.every((s) => s === 200),
    statuses.join(","),
  ).toBe(true);
  exposition = await (await fetch(`${sidecar.adminUrl}/metrics`)).text();
});

afterAll(async () => {
  await sidecar?.stop();
  await upstream?.close();
});

describe("the metrics the alerts and the dashboard query", () => {
  const queries = [
    ...alertRules().map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
    ...dashboardQueries(),
  ];

  it("are found in the queries (the extraction is not vacuous)", () => {
    const names = new Set(queries.flatMap((q) => metricNamesIn(q.expr)));
    expect(names).toEqual(
      new Set([
        "retry_sidecar_requests_total",
        "retry_sidecar_request_duration_seconds_bucket",
        "retry_sidecar_upstream_attempts_total",
        "retry_sidecar_retries_total",
        "retry_sidecar_retry_success_total",
        "retry_sidecar_retries_exhausted_total",
        "retry_sidecar_retries_skipped_total",
        "retry_sidecar_circuit_state",
        "retry_sidecar_upstream_endpoints",
        "retry_sidecar_endpoint_ejections_total",
        "retry_sidecar_dns_resolutions_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "up",
      ]),
    );
  });

  it.each(queries.map((q) => [q.where, q.expr] as const))(
    "%s: every metric is exported by a running sidecar",
    (_where, expr) => {
      const exported = exportedMetricNames(exposition);
      for (const name of metricNamesIn(expr)) {
        if (SYNTHETIC_METRICS.has(name)) continue;
        expect(exported, `${name} is not in /metrics`).toContain(name);
      }
    },
  );

  it("come from a sidecar that retried against the flaky upstream", () => {
    expect(exposition).toMatch(/^retry_sidecar_retries_total\{[^}]*reason="503"[^}]*\} [1-9]/m);
    expect(upstream.received.some((r) => r.attempt === "2")).toBe(true);
  });
});

describe("k8s/retry-sidecar.env with the component's listeners.env", () => {
  it("is a valid configuration (`node dist/main.js --check-config`)", () => {
    const result = spawnSync(process.execPath, [main, "--check-config"], {
      env: { PATH: process.env.PATH, ...k8sSettings },
      encoding: "utf8",
      timeout: 10_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr, "no warning: every name is a setting, none a likely typo").toBe("");
    expect(JSON.parse(result.stdout)).toBeTypeOf("object");
  });

  it("names only settings the sidecar knows (`--help`)", () => {
    const help = spawnSync(process.execPath, [main, "--help"], { encoding: "utf8", timeout: 10_000 }).stdout;
    for (const key of Object.keys(k8sSettings)) expect(help, key).toMatch(new RegExp(`^\\s+${key}\\s`, "m"));
  });
});

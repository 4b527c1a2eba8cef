import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ruleGroups } from "./helpers/observability.js";

// Debian package `prometheus` (.ci/apt-packages.txt) brings promtool.
const dir = mkdtempSync(join(tmpdir(), "retry-sidecar-rules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function promtool(args: string[]) {
  return spawnSync("promtool", args, { cwd: dir, encoding: "utf8", timeout: 60_000 });
}

const labels = 'namespace="shop",pod="registration-7d9f-abcde",route="/provider"';
const requests = `retry_sidecar_requests_total{${labels},method="POST",code="200"}`;
const fired = { namespace: "shop", route: "/provider" };

interface Scenario {
  name: string;
  series: Record<string, string>;
  alert: string;
  evalTime: string;
  expected: Record<string, string>[];
}

// Series values are per minute (interval 1m): "0+600x30" is a counter growing by 10/s for 30 min.
const scenarios: Scenario[] = [
  {
    name: "0.3 retries per request for 20 minutes fires the retry-ratio alert",
    series: { [requests]: "0+600x30", [`retry_sidecar_retries_total{${labels},reason="503"}`]: "0+180x30" },
    alert: "RetrySidecarHighRetryRatio",
    evalTime: "20m",
    expected: [{ severity: "warning", ...fired }],
  },
  {
    name: "0.1 retries per request stays quiet",
    series: { [requests]: "0+600x30", [`retry_sidecar_retries_total{${labels},reason="503"}`]: "0+60x30" },
    alert: "RetrySidecarHighRetryRatio",
    evalTime: "20m",
    expected: [],
  },
  {
    name: "a high ratio on almost no traffic stays quiet",
    series: { [requests]: "0+3x30", [`retry_sidecar_retries_total{${labels},reason="503"}`]: "0+3x30" },
    alert: "RetrySidecarHighRetryRatio",
    evalTime: "20m",
    expected: [],
  },
  {
    name: "5% of requests exhausting their retries fires",
    series: { [requests]: "0+600x30", [`retry_sidecar_retries_exhausted_total{${labels}}`]: "0+30x30" },
    alert: "RetrySidecarRetriesExhausted",
    evalTime: "15m",
    expected: [{ severity: "critical", ...fired }],
  },
  {
    name: "no exhausted requests stays quiet",
    series: { [requests]: "0+600x30", [`retry_sidecar_retries_exhausted_total{${labels}}`]: "0x30" },
    alert: "RetrySidecarRetriesExhausted",
    evalTime: "15m",
    expected: [],
  },
  {
    name: "retries skipped for the budget fire the budget alert",
    series: { [`retry_sidecar_retries_skipped_total{${labels},reason="budget"}`]: "0+60x30" },
    alert: "RetrySidecarRetryBudgetExhausted",
    evalTime: "15m",
    expected: [{ severity: "warning", ...fired }],
  },
  {
    name: "retries skipped for other reasons do not",
    series: { [`retry_sidecar_retries_skipped_total{${labels},reason="deadline"}`]: "0+60x30" },
    alert: "RetrySidecarRetryBudgetExhausted",
    evalTime: "15m",
    expected: [],
  },
  {
    name: "a circuit that stays open fires",
    series: { [`retry_sidecar_circuit_state{${labels}}`]: "0 0 1x20" },
    alert: "RetrySidecarCircuitOpen",
    evalTime: "10m",
    expected: [{ severity: "critical", ...fired, pod: "registration-7d9f-abcde" }],
  },
  {
    name: "a circuit flipping between open and half-open keeps firing",
    series: { [`retry_sidecar_circuit_state{${labels}}`]: "1 2 1 2 1 2 1 2 1 2 1 2 1 2" },
    alert: "RetrySidecarCircuitOpen",
    evalTime: "10m",
    expected: [{ severity: "critical", ...fired, pod: "registration-7d9f-abcde" }],
  },
  {
    name: "a closed circuit stays quiet",
    series: { [`retry_sidecar_circuit_state{${labels}}`]: "0x20" },
    alert: "RetrySidecarCircuitOpen",
    evalTime: "10m",
    expected: [],
  },
  {
    name: "a target that cannot be scraped fires the down alert",
    series: { 'up{job="shop/retry-sidecar",namespace="shop",pod="p1",instance="10.0.0.7:9464"}': "1 1 0x10" },
    alert: "RetrySidecarDown",
    evalTime: "8m",
    expected: [
      {
        severity: "critical",
        job: "shop/retry-sidecar",
        namespace: "shop",
        pod: "p1",
        instance: "10.0.0.7:9464",
      },
    ],
  },
  {
    name: "another job's target going down does not",
    series: { 'up{job="shop/registration",instance="10.0.0.7:8000"}': "0x10" },
    alert: "RetrySidecarDown",
    evalTime: "8m",
    expected: [],
  },
  {
    name: "a sidecar ejecting endpoints again and again for 15 minutes fires the ejection alert",
    // One ejection a minute: a sick pod re-ejected once each ENDPOINT_EJECT_MS (30 s) plus traffic.
    series: { 'retry_sidecar_endpoint_ejections_total{namespace="shop",pod="p1"}': "0+1x30" },
    alert: "RetrySidecarEndpointEjections",
    evalTime: "20m",
    expected: [{ severity: "warning", namespace: "shop" }],
  },
  {
    name: "two ejections in a blip stay quiet",
    series: { 'retry_sidecar_endpoint_ejections_total{namespace="shop",pod="p1"}': "0x5 2x25" },
    alert: "RetrySidecarEndpointEjections",
    evalTime: "20m",
    expected: [],
  },
  {
    name: "no endpoint known for minutes fires the no-endpoints alert",
    series: { 'retry_sidecar_upstream_endpoints{namespace="shop",pod="p1",state="active"}': "0x10" },
    alert: "RetrySidecarNoUpstreamEndpoints",
    evalTime: "5m",
    expected: [{ severity: "critical", namespace: "shop", pod: "p1" }],
  },
  {
    name: "one endpoint known (a ClusterIP) stays quiet",
    series: { 'retry_sidecar_upstream_endpoints{namespace="shop",pod="p1",state="active"}': "1x10" },
    alert: "RetrySidecarNoUpstreamEndpoints",
    evalTime: "5m",
    expected: [],
  },
];

describe("alert rules (k8s/prometheusrule.yaml)", () => {
  it("pass `promtool check rules`", () => {
    writeFileSync(join(dir, "rules.yml"), stringify({ groups: ruleGroups() }));
    const result = promtool(["check", "rules", "rules.yml"]);
    expect(result.error, "promtool missing? apt-get install prometheus").toBeUndefined();
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS: \d+ rules found/);
  });

  it.each(scenarios.map((s) => [s.name, s] as const))("%s (promtool test rules)", (_name, scenario) => {
    // promtool compares annotations exactly; the expressions, `for` and labels are what is tested
    // here (the annotation templates are checked by `promtool check rules` above).
    const groups = ruleGroups().map((g) => ({
      ...g,
      rules: g.rules.map(({ annotations: _annotations, ...rule }) => rule),
    }));
    const file = `${scenario.alert}-${scenarios.indexOf(scenario)}`;
    writeFileSync(join(dir, `${file}.rules.yml`), stringify({ groups }));
    writeFileSync(
      join(dir, `${file}.test.yml`),
      stringify({
        rule_files: [`${file}.rules.yml`],
        evaluation_interval: "1m",
        tests: [
          {
            interval: "1m",
            input_series: Object.entries(scenario.series).map(([series, values]) => ({ series, values })),
            alert_rule_test: [
              {
                eval_time: scenario.evalTime,
                alertname: scenario.alert,
                exp_alerts: scenario.expected.map((exp_labels) => ({ exp_labels })),
              },
            ],
          },
        ],
      }),
    );
    const result = promtool(["test", "rules", `${file}.test.yml`]);
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it("promtool itself rejects a broken rule (the check is not vacuous)", () => {
    writeFileSync(
      join(dir, "broken.yml"),
      stringify({ groups: [{ name: "x", rules: [{ alert: "X", expr: "sum(" }] }] }),
    );
    expect(promtool(["check", "rules", "broken.yml"]).status).not.toBe(0);
    expect(execFileSync("promtool", ["--version"], { encoding: "utf8" })).toMatch(/promtool, version/);
  });
});

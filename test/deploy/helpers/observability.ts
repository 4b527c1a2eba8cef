import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { k8sDir } from "./paths.js";

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface PrometheusRuleDoc {
  spec: { groups: { name: string; rules: AlertRule[] }[] };
}

/** The rule groups of k8s/prometheusrule.yaml, i.e. a plain Prometheus rule file's content. */
export function ruleGroups(): PrometheusRuleDoc["spec"]["groups"] {
  const doc = parse(readFileSync(join(k8sDir, "prometheusrule.yaml"), "utf8")) as PrometheusRuleDoc;
  return doc.spec.groups;
}

export function alertRules(): AlertRule[] {
  return ruleGroups().flatMap((group) => group.rules);
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; refId: string; legendFormat?: string }[];
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: DashboardPanel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}

export function dashboard(): Dashboard {
  return JSON.parse(readFileSync(join(k8sDir, "retry-sidecar-dashboard.json"), "utf8")) as Dashboard;
}

/** Every PromQL expression of the dashboard: panel targets and the metric inside label_values(). */
export function dashboardQueries(): { where: string; expr: string }[] {
  const board = dashboard();
  const queries = board.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel "${panel.title}" ${target.refId}`,
      expr: target.expr,
    })),
  );
  for (const variable of board.templating.list) {
    if (variable.type !== "query") continue;
    const query = typeof variable.query === "string" ? variable.query : variable.query.query;
    const inner = /^label_values\((.*),\s*[a-zA-Z_]\w*\)$/.exec(query)?.[1];
    queries.push({ where: `variable $${variable.name}`, expr: inner ?? query });
  }
  return queries;
}

/** Grafana's placeholders, replaced by what a query needs to run against Prometheus directly. */
export function withoutGrafanaVariables(expr: string, rateInterval = "1m"): string {
  return expr.replaceAll("$__rate_interval", rateInterval).replace(/\$(namespace|pod|route)\b/g, ".*");
}

// PromQL words that are not metric names: functions, aggregations, operators and keywords.
const PROMQL_WORDS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "count",
  "stddev",
  "stdvar",
  "topk",
  "bottomk",
  "quantile",
  "count_values",
  "group",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "rate",
  "irate",
  "increase",
  "delta",
  "idelta",
  "deriv",
  "histogram_quantile",
  "vector",
  "scalar",
  "absent",
  "absent_over_time",
  "max_over_time",
  "min_over_time",
  "avg_over_time",
  "sum_over_time",
  "count_over_time",
  "last_over_time",
  "present_over_time",
  "changes",
  "resets",
  "clamp_min",
  "clamp_max",
  "label_replace",
  "time",
  "abs",
  "ceil",
  "floor",
  "round",
  "sort",
  "sort_desc",
  "inf",
  "nan",
]);

/**
 * The metric names an expression selects. Label matchers ({...}), grouping clauses (by (...)),
 * ranges ([5m]), strings and numbers are removed first; what remains that is not a PromQL word
 * is a metric name.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const [word] of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    if (!PROMQL_WORDS.has(word.toLowerCase()) && !/^\d/.test(word)) names.add(word);
  }
  return [...names];
}

/** Metric names a Prometheus exposition offers, histograms and summaries with their series suffixes. */
export function exportedMetricNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split("\n")) {
    const type = /^# TYPE (\S+) (\w+)/.exec(line);
    if (type?.[1] && type[2]) {
      names.add(type[1]);
      if (type[2] === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(type[1] + s);
      if (type[2] === "summary") for (const s of ["_sum", "_count"]) names.add(type[1] + s);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample?.[1]) names.add(sample[1]);
  }
  return names;
}

/** Series Prometheus makes itself for every target; no exporter exports them. */
export const SYNTHETIC_METRICS = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped"]);

import type { Summary } from "./stats.js";

/** Row ids; their order is the table's. */
export type RowId = "direct" | "nginx" | "haproxy" | "fastify" | "bare" | "sidecar" | "baseline";

export const ROW_LABELS: Record<RowId, string> = {
  direct: "direct to upstream",
  nginx: "nginx (proxy_pass)",
  haproxy: "HAProxy",
  fastify: "fastify + reply-from",
  bare: "bare hono + undici",
  sidecar: "retry-sidecar",
  baseline: "retry-sidecar (baseline build)",
};

/** What one row measured in one round. */
export interface RoundFigures {
  satRps: number;
  satP50Us: number;
  satP99Us: number;
  satErrors: number;
  /** CPU of the proxy process(es) per request at saturation; NaN for the direct row. */
  satCpuUs: number;
  peakRssMb: number;
  rateCpuUs: number;
  rateP50Us: number;
  rateP99Us: number;
  rateAchieved: number;
  rateErrors: number;
  /** Fixed-rate latency minus the direct row's in the same round. */
  addedP50Us: number;
  addedP99Us: number;
}

export type FigureName = keyof RoundFigures;

export interface RowResult {
  id: RowId;
  label: string;
  rounds: RoundFigures[];
  summary: Record<FigureName, Summary>;
}

export interface Goal {
  name: string;
  target: string;
  /** Per-round values (ratios, or MB for the memory goal); the median decides. */
  value: Summary;
  met: boolean;
  unit: "x" | "MB";
}

export interface OutageScenario {
  name: string;
  clientRequests: number;
  upstreamAttempts: number;
  attemptsPerRequest: number;
  expected: string;
}

export interface FlakyScenario {
  name: string;
  retries: number;
  clientRequests: number;
  succeeded: number;
  successRate: number;
  theory: number;
  upstreamAttempts: number;
}

export interface BenchResults {
  meta: {
    date: string;
    command: string;
    commit: string;
    node: string;
    cpus: number;
    pinning: string;
    rounds: number;
    connections: number;
    satSeconds: number;
    rate: number;
    rateSeconds: number;
    quick: boolean;
  };
  rows: RowResult[];
  goals: Goal[];
  outage: OutageScenario[];
  flaky: FlakyScenario[];
  notes: string[];
}

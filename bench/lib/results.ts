import type { MemorySnapshot } from "../preload/memory-report.js";
import type { Summary } from "./stats.js";

/**
 * Row ids. "sidecar" is what ships: Node 24 (the image's), inside a memory cgroup with the limit of
 * k8s/components/retry-sidecar/native-sidecar.yaml. "sidecar-3ep" is that row with UPSTREAM_URL naming
 * a DNS name that resolves to three upstream addresses (three endpoints) instead of an IP address
 * (one). "sidecar-node20" is the same build on the machine's Node 20; "sidecar@128Mi"
 * and the like the Node 24 sidecar inside another limit ("sidecar@none": outside any).
 */
export type RowId =
  | "direct"
  | "nginx"
  | "haproxy"
  | "fastify"
  | "bare"
  | "dispatch"
  | "sidecar"
  | "sidecar-3ep"
  | "sidecar-node20"
  | "baseline"
  | `sidecar@${string}`;

export const ROW_LABELS: Record<Exclude<RowId, `sidecar@${string}`>, string> = {
  direct: "direct to upstream",
  nginx: "nginx (proxy_pass)",
  haproxy: "HAProxy",
  fastify: "fastify + reply-from",
  bare: "naive hono + undici request()",
  dispatch: "bare node:http + undici Pool.dispatch",
  sidecar: "retry-sidecar",
  "sidecar-3ep": "retry-sidecar, 3 endpoints",
  "sidecar-node20": "retry-sidecar",
  baseline: "retry-sidecar (baseline build)",
};

export const isSidecarRow = (id: RowId) =>
  id === "sidecar" ||
  id === "sidecar-3ep" ||
  id === "sidecar-node20" ||
  id === "baseline" ||
  id.startsWith("sidecar@");

/** What one row measured in one round. */
export interface RoundFigures {
  satRps: number;
  satP50Us: number;
  satP99Us: number;
  satErrors: number;
  /** CPU of the proxy process(es) per request at saturation; NaN for the direct row. */
  satCpuUs: number;
  peakRssMb: number;
  /** Peak charged to the row's memory cgroup during the saturation run (NaN outside a cgroup). */
  cgroupPeakMb: number;
  /** memory.failcnt increase during the saturation run: charges that hit the limit. */
  limitHits: number;
  /** Times the process died (OOM-killed) during the round; it is restarted for the next. */
  oomKills: number;
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
  /** Node rows: the Node.js version that ran it. */
  node?: string | undefined;
  /** The memory cgroup limit it ran in ("256Mi"), "none", or "none (cgroup failed: why)". */
  memoryLimit?: string | undefined;
  /** Times the process died on its own over the whole run, warm-up included (OOM kills). */
  deaths?: number;
  /** Resident set (VmRSS) after start and one request, before any load. */
  idleRssMb?: number;
  /** Node rows: where memory was at the end of the last saturation run (bench/preload/memory-report.ts). */
  memory?: MemorySnapshot | undefined;
  rounds: RoundFigures[];
  summary: Record<FigureName, Summary>;
}

export interface Goal {
  name: string;
  target: string;
  /** Per-round values (ratios, or MB for the memory goal); the median decides. */
  value: Summary;
  met: boolean;
  unit: "x" | "MB" | "count";
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
    /** The Node.js versions: the sidecar's (the image's line), the machine's, and the peers'. */
    node24?: string;
    node20?: string;
    peersNode?: string;
    /** The memory limit of the sidecar rows, and where it came from. */
    memoryLimit?: string;
  };
  rows: RowResult[];
  goals: Goal[];
  outage: OutageScenario[];
  flaky: FlakyScenario[];
  notes: string[];
  /** CPU profiles written by --cpu-prof, summarised (bench/lib/cpuprofile.ts). */
  profiles?: { row: string; file: string; summary: string }[];
}

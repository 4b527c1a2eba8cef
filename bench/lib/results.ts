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
  /**
   * The kubelet's working set (memory.usage_in_bytes − total_inactive_file), the largest sampled
   * every 100 ms during the saturation run, and memory.stat's split at that sample (NaN outside a
   * cgroup): anonymous (total_rss), active and inactive file pages.
   */
  satWorkingSetMb: number;
  satAnonMb: number;
  satActiveFileMb: number;
  satInactiveFileMb: number;
  /** Times the process died (OOM-killed) during the round; it is restarted for the next. */
  oomKills: number;
  rateCpuUs: number;
  rateP50Us: number;
  rateP99Us: number;
  rateAchieved: number;
  rateErrors: number;
  /** The largest working set sampled during the fixed-rate run. */
  rateWorkingSetMb: number;
  /** Fixed-rate latency minus the direct row's in the same round. */
  addedP50Us: number;
  addedP99Us: number;
}

export type FigureName = keyof RoundFigures;

/**
 * How each figure is judged over the rounds. Interference from the rest of a shared machine only
 * adds cost, so CPU, latency and throughput are judged by the best round ("min" or "max"); memory
 * by the largest round ("max"), since a limit has to hold in every round.
 */
export const JUDGED_BY: Record<FigureName, "min" | "max"> = {
  satRps: "max",
  satP50Us: "min",
  satP99Us: "min",
  satErrors: "max",
  satCpuUs: "min",
  peakRssMb: "max",
  cgroupPeakMb: "max",
  limitHits: "max",
  satWorkingSetMb: "max",
  satAnonMb: "max",
  satActiveFileMb: "max",
  satInactiveFileMb: "max",
  oomKills: "max",
  rateCpuUs: "min",
  rateP50Us: "min",
  rateP99Us: "min",
  rateAchieved: "max",
  rateErrors: "max",
  rateWorkingSetMb: "max",
  addedP50Us: "min",
  addedP99Us: "min",
};

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
  /** Its memory cgroup at the same moment: usage, the kubelet's working set and memory.stat's split. */
  idleCgroup?: {
    usageMb: number;
    workingSetMb: number;
    anonMb: number;
    activeFileMb: number;
    inactiveFileMb: number;
  };
  /** Started from a fresh, uncached copy of node and the app (bench/lib/fresh-start.ts). */
  freshStart?: boolean;
  /** Node rows: where memory was at the end of the last saturation run (bench/preload/memory-report.ts). */
  memory?: MemorySnapshot | undefined;
  rounds: RoundFigures[];
  summary: Record<FigureName, Summary>;
}

export interface Goal {
  name: string;
  target: string;
  /**
   * What decides: the figure from each row's judged round (JUDGED_BY: the best for CPU and
   * throughput, the largest for memory), or a ratio of two rows' judged rounds.
   */
  judged: number;
  /** Per-round values (ratios within one round, or MB): their median is shown beside. */
  value: Summary;
  met: boolean;
  unit: "x" | "MB" | "count" | "vCPU";
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

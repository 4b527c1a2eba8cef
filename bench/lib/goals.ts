/**
 * The goals for the shipped row ("sidecar": Node 24 in the manifest's memory limit, started as a
 * container starts). Each row is judged by its judged round (results.ts JUDGED_BY: the best round
 * for CPU and throughput, where a shared machine only adds cost; the largest for memory), and a
 * ratio goal is the ratio of the two rows' judged rounds. The median of the per-round ratios
 * (rows measured back to back in one round) is shown beside it.
 */
import type { CgroupSample } from "./cgroup.js";
import { parseQuantity } from "./cgroup.js";
import { type FigureName, type Goal, JUDGED_BY, type RoundFigures, type RowId } from "./results.js";
import { summarize } from "./stats.js";

export interface GoalInputs {
  perRound: Map<RowId, RoundFigures[]>;
  idleRss: Map<RowId, number>;
  idleCgroup: Map<RowId, CgroupSample>;
  deaths: (id: RowId) => number;
}

const isSidecarFamily = (id: RowId) =>
  id === "sidecar" || id === "sidecar-3ep" || id === "sidecar-node20" || id.startsWith("sidecar@");

export function computeGoals({ perRound, idleRss, idleCgroup, deaths }: GoalInputs): Goal[] {
  const sidecar = perRound.get("sidecar");
  if (!sidecar || sidecar.length === 0) return [];
  const judged = (id: RowId, name: FigureName) =>
    summarize(
      (perRound.get(id) ?? []).map((f) => f[name]),
      JUDGED_BY[name],
    ).judged;
  const goals: Goal[] = [];
  const add = (
    name: string,
    target: string,
    value: number,
    values: number[],
    ok: (v: number) => boolean,
    unit: Goal["unit"] = "x",
  ) => {
    if (Number.isFinite(value))
      goals.push({ name, target, judged: value, value: summarize(values), met: ok(value), unit });
  };
  /** sidecar ÷ another row on one figure: the judged rounds' ratio, and the per-round ratios. */
  const ratio = (
    name: string,
    target: string,
    a: RowId,
    b: RowId,
    figure: FigureName,
    ok: (v: number) => boolean,
  ) => {
    const rounds = perRound.get(b) ?? [];
    const perRoundRatios = (perRound.get(a) ?? []).map(
      (s, i) => s[figure] / (rounds[i]?.[figure] ?? Number.NaN),
    );
    add(name, target, judged(a, figure) / judged(b, figure), perRoundRatios, ok);
  };
  ratio(
    "CPU per request at saturation vs the bare dispatch forwarder",
    "≤ 1.15×",
    "sidecar",
    "dispatch",
    "satCpuUs",
    (v) => v <= 1.15,
  );
  ratio("CPU per request at saturation vs nginx", "≤ 3.0×", "sidecar", "nginx", "satCpuUs", (v) => v <= 3);
  ratio(
    "saturation throughput vs fastify + reply-from",
    "≥ 1.4×",
    "sidecar",
    "fastify",
    "satRps",
    (v) => v >= 1.4,
  );
  // Istio's unit: the sidecar's CPU at 1,000 req/s, from its CPU per request at the fixed rate.
  add(
    "vCPU per 1,000 req/s (fixed rate)",
    "≤ 0.20",
    judged("sidecar", "rateCpuUs") / 1000,
    sidecar.map((s) => s.rateCpuUs / 1000),
    (v) => v <= 0.2,
    "vCPU",
  );
  ratio(
    "CPU per request at 1,000 req/s vs nginx",
    "≤ 2.5×",
    "sidecar",
    "nginx",
    "rateCpuUs",
    (v) => v <= 2.5,
  );
  ratio("added p99 at fixed rate vs nginx's", "≤ 2.0×", "sidecar", "nginx", "addedP99Us", (v) => v <= 2);
  // The memory rows: the smallest limit's throughput against the largest's (128Mi vs 4Gi).
  const limited = [...perRound.keys()]
    .filter((id) => id.startsWith("sidecar@") && id !== "sidecar@none")
    .sort((a, b) => parseQuantity(a.slice(8)) - parseQuantity(b.slice(8)));
  const small = limited[0];
  const large = limited[limited.length - 1];
  if (small && large && small !== large) {
    // Judged on the median of the per-round ratios, not on the best rounds: what a tight limit
    // costs shows as rounds that collapse (the kernel evicting node's own code pages), which a
    // best round would hide.
    const a = perRound.get(small) ?? [];
    const b = perRound.get(large) ?? [];
    const ratios = a.map((f, i) => f.satRps / (b[i]?.satRps ?? Number.NaN));
    const name = `saturation throughput at ${small.slice(8)} vs at ${large.slice(8)} (median of rounds)`;
    add(name, "≥ 0.95×", summarize(ratios).median, ratios, (v) => v >= 0.95);
  }
  const idle = idleCgroup.get("sidecar");
  const idleWs = idle ? idle.workingSetBytes / 1e6 : Number.NaN;
  add("working set idle (after start and one request)", "≤ 45 MB", idleWs, [idleWs], (v) => v <= 45, "MB");
  const ws = sidecar.map((s) => s.satWorkingSetMb);
  add(
    "working set at saturation (largest round)",
    "≤ 70 MB",
    judged("sidecar", "satWorkingSetMb"),
    ws,
    (v) => v <= 70,
    "MB",
  );
  add(
    "working set at 1,000 req/s (largest round)",
    "info",
    judged("sidecar", "rateWorkingSetMb"),
    sidecar.map((s) => s.rateWorkingSetMb),
    () => true,
    "MB",
  );
  const hits = sidecar.map((s) => s.limitHits);
  add(
    "limit hits at saturation (memory.failcnt)",
    "info",
    judged("sidecar", "limitHits"),
    hits,
    () => true,
    "count",
  );
  const oom = [...perRound.keys()].filter(isSidecarFamily).reduce((sum, id) => sum + deaths(id), 0);
  add("OOM kills (all retry-sidecar rows, whole run)", "0", oom, [oom], (v) => v === 0, "count");
  // Overload protection must judge the upstream, not the sidecar's own queueing: at saturation a
  // shed request would be a 503 that wrk counts as non-2xx.
  add(
    "non-2xx answers or errors at saturation (nothing shed)",
    "0",
    judged("sidecar", "satErrors"),
    sidecar.map((s) => s.satErrors),
    (v) => v === 0,
    "count",
  );
  // RSS counts shared, reclaimable file pages the kubelet leaves out: shown, not judged.
  add(
    "peak RSS under saturation (largest round)",
    "info",
    judged("sidecar", "peakRssMb"),
    sidecar.map((s) => s.peakRssMb),
    () => true,
    "MB",
  );
  const rss = idleRss.get("sidecar") ?? Number.NaN;
  add("RSS idle", "info", rss, [rss], () => true, "MB");
  if (perRound.has("sidecar-3ep"))
    ratio(
      "CPU per request, 3 endpoints vs 1 endpoint",
      "≤ 1.05×",
      "sidecar-3ep",
      "sidecar",
      "satCpuUs",
      (v) => v <= 1.05,
    );
  const info = (name: string, other: RowId, figure: FigureName, target = "info") =>
    ratio(name, target, "sidecar", other, figure, () => true);
  if (perRound.has("sidecar-node20")) {
    // Not goals: what the Node line alone changes (the same build, limit and settings on Node 20).
    info("Node 24 vs Node 20: CPU per request at saturation", "sidecar-node20", "satCpuUs");
    info("Node 24 vs Node 20: saturation throughput", "sidecar-node20", "satRps");
    info("Node 24 vs Node 20: working set at saturation", "sidecar-node20", "satWorkingSetMb");
  }
  if (perRound.has("baseline")) {
    // Not goals: the A/B figures for a change (below 1.00× means the change is cheaper / faster).
    info("A/B: CPU per request at saturation vs baseline build", "baseline", "satCpuUs", "A/B");
    info("A/B: CPU per request at fixed rate vs baseline build", "baseline", "rateCpuUs", "A/B");
    info("A/B: saturation throughput vs baseline build", "baseline", "satRps", "A/B");
    info("A/B: working set at saturation vs baseline build", "baseline", "satWorkingSetMb", "A/B");
    info("A/B: anonymous memory at saturation vs baseline build", "baseline", "satAnonMb", "A/B");
    info("A/B: peak RSS vs baseline build", "baseline", "peakRssMb", "A/B");
    const base = idleCgroup.get("baseline");
    const idleRatio = base && idle ? idle.workingSetBytes / base.workingSetBytes : Number.NaN;
    add("A/B: working set idle vs baseline build", "A/B", idleRatio, [idleRatio], () => true);
  }
  return goals;
}

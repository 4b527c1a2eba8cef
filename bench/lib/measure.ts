import { existsSync, readFileSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { MemorySnapshot } from "../preload/memory-report.js";
import { parseQuantity, resetCgroupPeak, sampleCgroup } from "./cgroup.js";
import type { BenchOptions } from "./options.js";
import { cpuMicros, peakRssMb, resetPeakRss, rssMb } from "./procstat.js";
import type { FigureName, Goal, RoundFigures, RowId, RowResult } from "./results.js";
import type { Running } from "./rows.js";
import { type Summary, summarize } from "./stats.js";
import { wrk } from "./wrk.js";

export interface MeasureContext {
  options: BenchOptions;
  /** wrk script for saturation (no think time). */
  lua: string;
  /** wrk script for the fixed rate (exponential think time). */
  rateLua: string;
  buildDir: string;
  loadCpu: string | undefined;
  log: (line: string) => void;
  /** Filled in as the run goes: resident set after start (before load), last memory report. */
  idleRss: Map<RowId, number>;
  memory: Map<RowId, MemorySnapshot>;
}

const url = (r: Running) => `http://127.0.0.1:${r.port}/provider`;

/** One POST through each row before measuring: it must answer the upstream's 201 and body. */
async function check(id: RowId, r: Running): Promise<void> {
  const res = await fetch(url(r), {
    method: "POST",
    body: "{}",
    headers: { "content-type": "application/json" },
  });
  const body = await res.text();
  if (res.status !== 201 || body !== '{"id":12345}') {
    throw new Error(`${id}: expected 201 {"id":12345}, got ${res.status} ${body.slice(0, 200)}`);
  }
}

export async function warmUp(ids: readonly RowId[], running: Map<RowId, Running>, ctx: MeasureContext) {
  for (const id of ids) {
    const r = running.get(id);
    if (!r) continue;
    await check(id, r);
    // Idle: started, one request served, a moment to settle; before any load grows the heap.
    await sleep(500);
    if (id !== "direct") ctx.idleRss.set(id, rssMb(r.pids()));
    await wrk({
      url: url(r),
      lua: ctx.lua,
      connections: ctx.options.connections,
      seconds: ctx.options.warmSeconds,
      cpu: ctx.loadCpu,
    });
  }
}

/** Saturation for every row, then the fixed rate for every row: A B C … A B C … */
export async function measureRound(
  round: number,
  order: readonly RowId[],
  running: Map<RowId, Running>,
  ctx: MeasureContext,
): Promise<Map<RowId, RoundFigures>> {
  const { options } = ctx;
  const figures = new Map<RowId, RoundFigures>();
  for (const id of order) {
    const r = running.get(id);
    if (!r) continue;
    await r.ensureAlive?.();
    const deaths0 = r.deaths?.() ?? 0;
    const pids = r.pids();
    resetPeakRss(pids);
    if (r.cgroup) resetCgroupPeak(r.cgroup);
    const failcnt0 = r.cgroup ? sampleCgroup(r.cgroup).failcnt : Number.NaN;
    const cpu0 = cpuMicros(pids);
    const report = r.memoryReportFile
      ? snapshotNearEnd(r.memoryReportFile, pids[0], options.satSeconds)
      : undefined;
    const w = await wrk({
      url: url(r),
      lua: ctx.lua,
      connections: options.connections,
      seconds: options.satSeconds,
      cpu: ctx.loadCpu,
    });
    const cpu = cpuMicros(pids) - cpu0;
    const died = (r.deaths?.() ?? 0) > deaths0;
    const cg = r.cgroup ? sampleCgroup(r.cgroup) : undefined;
    const snapshot = await report;
    if (snapshot) ctx.memory.set(id, snapshot);
    const isDirect = id === "direct";
    figures.set(id, {
      satRps: w.requests / (w.durationUs / 1e6),
      satP50Us: w.p50Us,
      satP99Us: w.p99Us,
      satErrors: w.connectErrors + w.readErrors + w.writeErrors + w.non2xx + w.timeouts,
      satCpuUs: isDirect || died ? Number.NaN : cpu / w.requests,
      peakRssMb: isDirect || died ? Number.NaN : peakRssMb(pids),
      cgroupPeakMb: cg ? cg.peakBytes / 1e6 : Number.NaN,
      limitHits: cg ? cg.failcnt - failcnt0 : Number.NaN,
      oomKills: (r.deaths?.() ?? 0) - deaths0,
      rateCpuUs: Number.NaN,
      rateP50Us: Number.NaN,
      rateP99Us: Number.NaN,
      rateAchieved: Number.NaN,
      rateErrors: Number.NaN,
      addedP50Us: Number.NaN,
      addedP99Us: Number.NaN,
    });
    const f = figures.get(id);
    ctx.log(
      `round ${round + 1} saturation ${id}: ${Math.round(w.requests / (w.durationUs / 1e6))} req/s, p99 ${(w.p99Us / 1000).toFixed(2)} ms${isDirect ? "" : `, ${f?.satCpuUs.toFixed(1)} µs CPU/req, peak RSS ${f?.peakRssMb.toFixed(1)} MB`}${cg ? `, cgroup peak ${(cg.peakBytes / 1e6).toFixed(1)} MB of ${(r.cgroup?.limitBytes ?? 0) / 1e6} MB, ${f?.limitHits} limit hits` : ""}${died ? `, DIED during the run (${cg?.oomKills ?? "?"} OOM kills in its cgroup so far)` : ""}`,
    );
  }
  for (const id of options.rateSeconds > 0 ? order : []) {
    const r = running.get(id);
    const f = figures.get(id);
    if (!r || !f) continue;
    await r.ensureAlive?.();
    const deaths0 = r.deaths?.() ?? 0;
    const pids = r.pids();
    const cpu0 = cpuMicros(pids);
    const w = await wrk({
      url: url(r),
      lua: ctx.rateLua,
      connections: options.rateConnections,
      seconds: options.rateSeconds,
      cpu: ctx.loadCpu,
    });
    const cpu = cpuMicros(pids) - cpu0;
    const died = (r.deaths?.() ?? 0) - deaths0;
    f.oomKills += died;
    f.rateCpuUs = id === "direct" || died > 0 ? Number.NaN : cpu / w.requests;
    f.rateP50Us = w.p50Us;
    f.rateP99Us = w.p99Us;
    f.rateAchieved = w.requests / (w.durationUs / 1e6);
    f.rateErrors = w.connectErrors + w.readErrors + w.writeErrors + w.non2xx + w.timeouts;
    ctx.log(
      `round ${round + 1} ~${Math.round(f.rateAchieved)} req/s ${id}: p50 ${(w.p50Us / 1000).toFixed(2)} ms, p99 ${(w.p99Us / 1000).toFixed(2)} ms${id === "direct" ? "" : `, ${(cpu / w.requests).toFixed(1)} µs CPU/req`}${f.rateErrors ? `, ${f.rateErrors} errors` : ""}`,
    );
  }
  const direct = figures.get("direct");
  for (const f of figures.values()) {
    f.addedP50Us = direct ? f.rateP50Us - direct.rateP50Us : Number.NaN;
    f.addedP99Us = direct ? f.rateP99Us - direct.rateP99Us : Number.NaN;
  }
  return figures;
}

const FIGURES: FigureName[] = [
  "satRps",
  "satP50Us",
  "satP99Us",
  "satErrors",
  "satCpuUs",
  "peakRssMb",
  "cgroupPeakMb",
  "limitHits",
  "oomKills",
  "rateCpuUs",
  "rateP50Us",
  "rateP99Us",
  "rateAchieved",
  "rateErrors",
  "addedP50Us",
  "addedP99Us",
];

export function summarizeRows(
  ids: readonly RowId[],
  perRound: Map<RowId, RoundFigures[]>,
  describe: (id: RowId) => Pick<RowResult, "label" | "node" | "memoryLimit" | "deaths">,
  ctx: Pick<MeasureContext, "idleRss" | "memory">,
): RowResult[] {
  return ids.map((id) => {
    const rounds = perRound.get(id) ?? [];
    const summary = Object.fromEntries(FIGURES.map((name) => [name, summarize(rounds.map((r) => r[name]))]));
    const idle = ctx.idleRss.get(id);
    return {
      id,
      ...describe(id),
      ...(idle === undefined ? {} : { idleRssMb: idle }),
      memory: ctx.memory.get(id),
      rounds,
      summary: summary as RowResult["summary"],
    };
  });
}

/** Asks the process for its memory report half a second before the run ends (load still on). */
async function snapshotNearEnd(
  file: string,
  pid: number | undefined,
  seconds: number,
): Promise<MemorySnapshot | undefined> {
  if (pid === undefined) return undefined;
  rmSync(file, { force: true });
  await sleep(Math.max(0.2, seconds - 0.5) * 1000);
  try {
    process.kill(pid, "SIGUSR2");
  } catch {
    return undefined;
  }
  for (let i = 0; i < 80; i++) {
    await sleep(25);
    if (!existsSync(file)) continue;
    try {
      return JSON.parse(readFileSync(file, "utf8")) as MemorySnapshot;
    } catch {
      // still being written
    }
  }
  return undefined;
}

/**
 * The goals for the shipped row ("sidecar": Node 24 in the manifest's memory limit), each as
 * per-round values (ratios within one round), judged on the median; OOM kills on the total.
 */
export function computeGoals(
  perRound: Map<RowId, RoundFigures[]>,
  idleRss: Map<RowId, number>,
  deaths: (id: RowId) => number,
): Goal[] {
  const sidecar = perRound.get("sidecar");
  if (!sidecar || sidecar.length === 0) return [];
  const per = (other: RowId, f: (s: RoundFigures, o: RoundFigures) => number) => {
    const rounds = perRound.get(other) ?? [];
    return sidecar.map((s, i) => {
      const o = rounds[i];
      return o ? f(s, o) : Number.NaN;
    });
  };
  const goals: Goal[] = [];
  const add = (
    name: string,
    target: string,
    values: number[],
    ok: (median: number, all: Summary) => boolean,
    unit: Goal["unit"] = "x",
  ) => {
    const value = summarize(values);
    if (Number.isFinite(value.median))
      goals.push({ name, target, value, met: ok(value.median, value), unit });
  };
  add(
    "CPU per request at saturation vs the bare dispatch forwarder",
    "≤ 1.15×",
    per("dispatch", (s, o) => s.satCpuUs / o.satCpuUs),
    (m) => m <= 1.15,
  );
  add(
    "CPU per request at saturation vs nginx",
    "≤ 3.0×",
    per("nginx", (s, o) => s.satCpuUs / o.satCpuUs),
    (m) => m <= 3,
  );
  add(
    "CPU per request at fixed rate vs nginx",
    "≤ 3.0×",
    per("nginx", (s, o) => s.rateCpuUs / o.rateCpuUs),
    (m) => m <= 3,
  );
  add(
    "saturation throughput vs fastify + reply-from",
    "≥ 1.5×",
    per("fastify", (s, o) => s.satRps / o.satRps),
    (m) => m >= 1.5,
  );
  add(
    "added p99 at fixed rate vs nginx's",
    "≤ 2.0×",
    per("nginx", (s, o) => s.addedP99Us / o.addedP99Us),
    (m) => m <= 2,
  );
  // The memory rows: the smallest limit's throughput against the largest's (128Mi vs 4Gi).
  const limited = [...perRound.keys()]
    .filter((id) => id.startsWith("sidecar@") && id !== "sidecar@none")
    .sort((a, b) => parseQuantity(a.slice(8)) - parseQuantity(b.slice(8)));
  const small = limited[0];
  const large = limited[limited.length - 1];
  if (small && large && small !== large) {
    const a = perRound.get(small) ?? [];
    const b = perRound.get(large) ?? [];
    add(
      `saturation throughput at ${small.slice(8)} vs at ${large.slice(8)}`,
      "≥ 0.90×",
      a.map((f, i) => f.satRps / (b[i]?.satRps ?? Number.NaN)),
      (m) => m >= 0.9,
    );
  }
  add(
    "peak RSS under saturation",
    "≤ 80 MB",
    sidecar.map((s) => s.peakRssMb),
    (m) => m <= 80,
    "MB",
  );
  add(
    "RSS idle (after start and one request)",
    "≤ 55 MB",
    [idleRss.get("sidecar") ?? Number.NaN],
    (m) => m <= 55,
    "MB",
  );
  add(
    "OOM kills (all retry-sidecar rows, whole run)",
    "0",
    [
      [...perRound.keys()]
        .filter(
          (id) =>
            id === "sidecar" || id === "sidecar-3ep" || id === "sidecar-node20" || id.startsWith("sidecar@"),
        )
        .reduce((sum, id) => sum + deaths(id), 0),
    ],
    (m) => m === 0,
    "count",
  );
  // The same build and settings with UPSTREAM_URL naming three endpoints (DNS) instead of one (an
  // IP address): what choosing an endpoint per attempt costs.
  const threeEndpoints = perRound.get("sidecar-3ep") ?? [];
  add(
    "CPU per request, 3 endpoints vs 1 endpoint",
    "≤ 1.05×",
    threeEndpoints.map((t, i) => t.satCpuUs / (sidecar[i]?.satCpuUs ?? Number.NaN)),
    (m) => m <= 1.05,
  );
  if (perRound.has("sidecar-node20")) {
    // Not goals: what the Node line alone changes (the same build, limit and settings on Node 20).
    add(
      "Node 24 vs Node 20: CPU per request at saturation",
      "info",
      per("sidecar-node20", (s, o) => s.satCpuUs / o.satCpuUs),
      () => true,
    );
    add(
      "Node 24 vs Node 20: saturation throughput",
      "info",
      per("sidecar-node20", (s, o) => s.satRps / o.satRps),
      () => true,
    );
  }
  if (perRound.has("baseline")) {
    // Not goals: the A/B figures for a change (below 1.00× means the change is cheaper / faster).
    add(
      "A/B: CPU per request at saturation vs baseline build",
      "A/B",
      per("baseline", (s, o) => s.satCpuUs / o.satCpuUs),
      () => true,
    );
    add(
      "A/B: CPU per request at fixed rate vs baseline build",
      "A/B",
      per("baseline", (s, o) => s.rateCpuUs / o.rateCpuUs),
      () => true,
    );
    add(
      "A/B: saturation throughput vs baseline build",
      "A/B",
      per("baseline", (s, o) => s.satRps / o.satRps),
      () => true,
    );
    add(
      "A/B: peak RSS vs baseline build",
      "A/B",
      per("baseline", (s, o) => s.peakRssMb / o.peakRssMb),
      () => true,
    );
  }
  return goals;
}

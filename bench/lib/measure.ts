import { existsSync, readFileSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { MemorySnapshot } from "../preload/memory-report.js";
import { type CgroupSample, resetCgroupPeak, sampleCgroup, watchCgroup } from "./cgroup.js";
import type { BenchOptions } from "./options.js";
import { cpuMicros, peakRssMb, resetPeakRss, rssMb } from "./procstat.js";
import { type FigureName, JUDGED_BY, type RoundFigures, type RowId, type RowResult } from "./results.js";
import type { Running } from "./rows.js";
import { summarize } from "./stats.js";
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
  /** The row's memory cgroup at the same moment (working set, anon/file split). */
  idleCgroup: Map<RowId, CgroupSample>;
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
    if (r.cgroup) ctx.idleCgroup.set(id, sampleCgroup(r.cgroup));
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
    const watch = r.cgroup ? watchCgroup(r.cgroup) : undefined;
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
    const top = watch?.stop();
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
      satWorkingSetMb: mbOf(top?.workingSetBytes),
      satAnonMb: mbOf(top?.anonBytes),
      satActiveFileMb: mbOf(top?.activeFileBytes),
      satInactiveFileMb: mbOf(top?.inactiveFileBytes),
      rateWorkingSetMb: Number.NaN,
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
      `round ${round + 1} saturation ${id}: ${Math.round(w.requests / (w.durationUs / 1e6))} req/s, p99 ${(w.p99Us / 1000).toFixed(2)} ms${isDirect ? "" : `, ${f?.satCpuUs.toFixed(1)} µs CPU/req, peak RSS ${f?.peakRssMb.toFixed(1)} MB`}${cg ? `, working set ≤ ${f?.satWorkingSetMb.toFixed(1)} MB, cgroup peak ${(cg.peakBytes / 1e6).toFixed(1)} MB of ${(r.cgroup?.limitBytes ?? 0) / 1e6} MB, ${f?.limitHits} limit hits` : ""}${died ? `, DIED during the run (${cg?.oomKills ?? "?"} OOM kills in its cgroup so far)` : ""}`,
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
    const watch = r.cgroup ? watchCgroup(r.cgroup) : undefined;
    const w = await wrk({
      url: url(r),
      lua: ctx.rateLua,
      connections: options.rateConnections,
      seconds: options.rateSeconds,
      cpu: ctx.loadCpu,
    });
    const cpu = cpuMicros(pids) - cpu0;
    f.rateWorkingSetMb = mbOf(watch?.stop().workingSetBytes);
    const died = (r.deaths?.() ?? 0) - deaths0;
    f.oomKills += died;
    f.rateCpuUs = id === "direct" || died > 0 ? Number.NaN : cpu / w.requests;
    f.rateP50Us = w.p50Us;
    f.rateP99Us = w.p99Us;
    f.rateAchieved = w.requests / (w.durationUs / 1e6);
    f.rateErrors = w.connectErrors + w.readErrors + w.writeErrors + w.non2xx + w.timeouts;
    ctx.log(
      `round ${round + 1} ~${Math.round(f.rateAchieved)} req/s ${id}: p50 ${(w.p50Us / 1000).toFixed(2)} ms, p99 ${(w.p99Us / 1000).toFixed(2)} ms${id === "direct" ? "" : `, ${(cpu / w.requests).toFixed(1)} µs CPU/req`}${r.cgroup ? `, working set ≤ ${f.rateWorkingSetMb.toFixed(1)} MB` : ""}${f.rateErrors ? `, ${f.rateErrors} errors` : ""}`,
    );
  }
  const direct = figures.get("direct");
  for (const f of figures.values()) {
    f.addedP50Us = direct ? f.rateP50Us - direct.rateP50Us : Number.NaN;
    f.addedP99Us = direct ? f.rateP99Us - direct.rateP99Us : Number.NaN;
  }
  return figures;
}

const mbOf = (bytes: number | undefined) => (bytes === undefined ? Number.NaN : bytes / 1e6);

export function summarizeRows(
  ids: readonly RowId[],
  perRound: Map<RowId, RoundFigures[]>,
  describe: (id: RowId) => Pick<RowResult, "label" | "node" | "memoryLimit" | "deaths" | "freshStart">,
  ctx: Pick<MeasureContext, "idleRss" | "idleCgroup" | "memory">,
): RowResult[] {
  return ids.map((id) => {
    const rounds = perRound.get(id) ?? [];
    const names = Object.keys(JUDGED_BY) as FigureName[];
    const summary = Object.fromEntries(
      names.map((name) => [
        name,
        summarize(
          rounds.map((r) => r[name]),
          JUDGED_BY[name],
        ),
      ]),
    );
    const idle = ctx.idleRss.get(id);
    const cg = ctx.idleCgroup.get(id);
    return {
      id,
      ...describe(id),
      ...(idle === undefined ? {} : { idleRssMb: idle }),
      ...(cg === undefined
        ? {}
        : {
            idleCgroup: {
              usageMb: cg.usageBytes / 1e6,
              workingSetMb: cg.workingSetBytes / 1e6,
              anonMb: cg.anonBytes / 1e6,
              activeFileMb: cg.activeFileBytes / 1e6,
              inactiveFileMb: cg.inactiveFileBytes / 1e6,
            },
          }),
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

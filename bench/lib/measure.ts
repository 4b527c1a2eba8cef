import type { BenchOptions } from "./options.js";
import { cpuMicros, peakRssMb, resetPeakRss } from "./procstat.js";
import type { FigureName, Goal, RoundFigures, RowId, RowResult } from "./results.js";
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
    const pids = r.pids();
    resetPeakRss(pids);
    const cpu0 = cpuMicros(pids);
    const w = await wrk({
      url: url(r),
      lua: ctx.lua,
      connections: options.connections,
      seconds: options.satSeconds,
      cpu: ctx.loadCpu,
    });
    const cpu = cpuMicros(pids) - cpu0;
    const isDirect = id === "direct";
    figures.set(id, {
      satRps: w.requests / (w.durationUs / 1e6),
      satP50Us: w.p50Us,
      satP99Us: w.p99Us,
      satErrors: w.connectErrors + w.readErrors + w.writeErrors + w.non2xx + w.timeouts,
      satCpuUs: isDirect ? Number.NaN : cpu / w.requests,
      peakRssMb: isDirect ? Number.NaN : peakRssMb(pids),
      rateCpuUs: Number.NaN,
      rateP50Us: Number.NaN,
      rateP99Us: Number.NaN,
      rateAchieved: Number.NaN,
      rateErrors: Number.NaN,
      addedP50Us: Number.NaN,
      addedP99Us: Number.NaN,
    });
    ctx.log(
      `round ${round + 1} saturation ${id}: ${Math.round(w.requests / (w.durationUs / 1e6))} req/s, p99 ${(w.p99Us / 1000).toFixed(2)} ms, ${isDirect ? "" : `${(cpu / w.requests).toFixed(1)} µs CPU/req, ${peakRssMb(pids).toFixed(1)} MB`}`,
    );
  }
  for (const id of options.rateSeconds > 0 ? order : []) {
    const r = running.get(id);
    const f = figures.get(id);
    if (!r || !f) continue;
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
    f.rateCpuUs = id === "direct" ? Number.NaN : cpu / w.requests;
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
  labels: Record<RowId, string>,
): RowResult[] {
  return ids.map((id) => {
    const rounds = perRound.get(id) ?? [];
    const summary = Object.fromEntries(FIGURES.map((name) => [name, summarize(rounds.map((r) => r[name]))]));
    return { id, label: labels[id], rounds, summary: summary as RowResult["summary"] };
  });
}

/** Each goal of the README's "goal / target" table as a per-round value (ratios within one round), judged on the median. */
export function computeGoals(perRound: Map<RowId, RoundFigures[]>): Goal[] {
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
    ok: (median: number) => boolean,
    unit: Goal["unit"] = "x",
  ) => {
    const value = summarize(values);
    if (Number.isFinite(value.median)) goals.push({ name, target, value, met: ok(value.median), unit });
  };
  add(
    "CPU per request at saturation vs nginx",
    "≤ 2.0×",
    per("nginx", (s, o) => s.satCpuUs / o.satCpuUs),
    (m) => m <= 2,
  );
  add(
    "CPU per request at fixed rate vs nginx",
    "≤ 2.0×",
    per("nginx", (s, o) => s.rateCpuUs / o.rateCpuUs),
    (m) => m <= 2,
  );
  add(
    "saturation throughput vs fastify + reply-from",
    "≥ 1.2×",
    per("fastify", (s, o) => s.satRps / o.satRps),
    (m) => m >= 1.2,
  );
  add(
    "added p99 at fixed rate vs nginx's",
    "≤ 1.2×",
    per("nginx", (s, o) => s.addedP99Us / o.addedP99Us),
    (m) => m <= 1.2,
  );
  add(
    "peak RSS under saturation",
    "≤ 80 MB",
    sidecar.map((s) => s.peakRssMb),
    (m) => m <= 80,
    "MB",
  );
  add(
    "CPU per request at saturation vs bare forwarder",
    "≤ 1.10×",
    per("bare", (s, o) => s.satCpuUs / o.satCpuUs),
    (m) => m <= 1.1,
  );
  add(
    "CPU per request at fixed rate vs bare forwarder",
    "≤ 1.10×",
    per("bare", (s, o) => s.rateCpuUs / o.rateCpuUs),
    (m) => m <= 1.1,
  );
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

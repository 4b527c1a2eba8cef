/**
 * The memory tables (the kubelet's working set, RSS, the cgroup's peak; where the resident set went)
 * and the "per 1,000 req/s" table (Istio's units: vCPU and working-set MB at the fixed rate).
 */

import { fig, fixed, int, spread } from "./format.js";
import type { BenchResults } from "./results.js";

// A figure that could not be read (undefined, or NaN from one) is a dash, never "NaN".
const mb = (bytes: number | undefined) =>
  bytes === undefined || !Number.isFinite(bytes) ? "—" : (bytes / 1e6).toFixed(1);

/** Memory as the pod sees it (limit, peaks, OOM kills), and where the resident set went at saturation. */
export function memoryTables(results: BenchResults): string[] {
  const rows = results.rows.filter((r) => r.id !== "direct");
  const lines = [
    "",
    "Memory as the kubelet sees it. Working set = memory.usage_in_bytes − total_inactive_file of the row's memory cgroup (what `kubectl top`, the eviction manager and container_memory_working_set_bytes report): idle (after start and one request) and the largest sampled every 100 ms during a saturation run; anon / active file / inactive file = memory.stat's total_rss, total_active_file, total_inactive_file (idle, and at that largest sample). RSS = VmRSS (idle) / VmHWM (saturation) of the process, file pages included. Cgroup peak = memory.max_usage_in_bytes (what the limit and the OOM killer see). Limit hits = memory.failcnt increase; OOM kills = times the process died inside its limit over the whole run (it is restarted; a round in which it died has no CPU or RSS figure). Start: fresh = node and the app read for the first time inside the cgroup (a fresh copy, bench/lib/fresh-start.ts), as a container starts; cached = from the repository's already cached files:",
    "",
    "| row | Node | memory limit | start | working set idle MB | idle anon / active file / inactive file MB | working set at saturation MB | anon / active file / inactive file at saturation MB | RSS idle MB | peak RSS MB | cgroup peak MB | limit hits | OOM kills |",
    "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const oom = row.deaths ?? row.rounds.reduce((n, f) => n + (f.oomKills || 0), 0);
    const idle = row.idleCgroup;
    const one = fixed(1);
    const split = (a: number, b: number, c: number) => `${one(a)} / ${one(b)} / ${one(c)}`;
    const inCgroup = row.rounds.some((f) => Number.isFinite(f.satWorkingSetMb));
    lines.push(
      `| ${row.label} | ${row.node ?? "—"} | ${row.memoryLimit ?? "—"} | ${inCgroup ? (row.freshStart ? "fresh" : "cached") : "—"} | ${one(idle?.workingSetMb ?? Number.NaN)} | ${idle ? split(idle.anonMb, idle.activeFileMb, idle.inactiveFileMb) : "—"} | ${spread(fig(row, "satWorkingSetMb"), one)} | ${inCgroup ? split(fig(row, "satAnonMb").judged, fig(row, "satActiveFileMb").judged, fig(row, "satInactiveFileMb").judged) : "—"} | ${one(row.idleRssMb ?? Number.NaN)} | ${spread(fig(row, "peakRssMb"), one)} | ${spread(fig(row, "cgroupPeakMb"), one)} | ${spread(fig(row, "limitHits"), int)} | ${oom > 0 ? `**${oom}**` : "0"} |`,
    );
  }
  const withMemory = rows.filter((r) => r.memory);
  if (withMemory.length === 0) return lines;
  lines.push(
    "",
    "Where the resident memory was near the end of the last saturation run, MB (bench/preload/memory-report.ts: /proc/PID/status, `v8.getHeapSpaceStatistics()` physical sizes, `process.memoryUsage()`). Anon outside the V8 heap = RssAnon − V8 committed: malloc arenas, Buffers, V8 zones and compiled code metadata, thread stacks:",
    "",
    "| row | RSS | RssFile (node binary) | RssAnon | V8 heap committed | new space | old space | code | large objects | other spaces | anon outside the V8 heap | external | arrayBuffers | brk heap (main malloc arena) | other malloc arenas | JIT code | heap limit |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const row of withMemory) {
    const m = row.memory;
    if (!m) continue;
    const space = (...names: string[]) =>
      m.heapSpaces
        .filter((s) => names.includes(s.space_name))
        .reduce((sum, s) => sum + s.physical_space_size, 0);
    const newSpace = space("new_space", "new_large_object_space");
    const old = space("old_space");
    const code = space("code_space", "code_large_object_space");
    const large = space("large_object_space");
    const committed = m.heap.total_physical_size;
    const anon = m.status.RssAnon ?? Number.NaN;
    lines.push(
      `| ${row.label} | ${mb(m.status.VmRSS)} | ${mb(m.status.RssFile)} (${mb(m.smapsByKind["node binary"])}) | ${mb(anon)} | ${mb(committed)} | ${mb(newSpace)} | ${mb(old)} | ${mb(code)} | ${mb(large)} | ${mb(committed - newSpace - old - code - large)} | ${mb(anon - committed)} | ${mb(m.memoryUsage.external)} | ${mb(m.memoryUsage.arrayBuffers)} | ${mb(m.smapsByKind["brk heap"])} | ${mb(m.smapsByKind["malloc arenas"])} | ${mb(m.smapsByKind["jit code"])} | ${mb(m.heap.heap_size_limit)} |`,
    );
  }
  return lines;
}

/**
 * Istio's units: what the proxy costs at a fixed 1,000 req/s (wrk with think times, bench/README.md
 * "Fixed rate"): vCPU = CPU per request × 1,000 req/s, the working set at that rate, and CPU per
 * request against nginx's in the same run (each row's best round).
 */
export function perThousandTable(results: BenchResults): string[] {
  const rows = results.rows.filter((r) => r.id !== "direct" && Number.isFinite(fig(r, "rateCpuUs").judged));
  if (rows.length === 0) return [];
  const rate = results.meta.rate;
  const nginx = results.rows.find((r) => r.id === "nginx");
  const nginxCpu = nginx ? fig(nginx, "rateCpuUs").judged : Number.NaN;
  const lines = [
    "",
    `Per 1,000 req/s (Istio's units), from the fixed-rate runs (~${rate} req/s offered; each row's best round, the median in small print): vCPU = CPU per request × 1,000 req/s; working set as above, the largest during the run:`,
    "",
    "| row | achieved req/s | CPU µs/req | vCPU per 1,000 req/s | working set MB | CPU per request vs nginx |",
    "|---|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const cpu = fig(row, "rateCpuUs");
    const vcpu = { ...cpu, judged: cpu.judged / 1000, median: cpu.median / 1000 };
    lines.push(
      `| ${row.label} | ${spread(fig(row, "rateAchieved"), int)} | ${spread(cpu, fixed(1))} | ${spread(vcpu, fixed(3))} | ${spread(fig(row, "rateWorkingSetMb"), fixed(1))} | ${Number.isFinite(nginxCpu) ? `${(cpu.judged / nginxCpu).toFixed(2)}×` : "—"} |`,
    );
  }
  return lines;
}

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { chartSvg, type Panel } from "./chart.js";
import type { BenchResults, FigureName, RowResult } from "./results.js";
import type { Summary } from "./stats.js";

const START = "<!-- bench:start (written by `npm run bench`; do not edit by hand) -->";
const END = "<!-- bench:end -->";

const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "—");
const fixed = (digits: number) => (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : "—");
const ms = (us: number) => fixed(2)(us / 1000);
const signedMs = (us: number) =>
  Number.isFinite(us) ? `${us >= 0 ? "+" : ""}${(us / 1000).toFixed(2)}` : "—";

function spread(s: Summary, format: (v: number) => string): string {
  if (!Number.isFinite(s.median)) return "—";
  if (s.values.length < 2) return format(s.median);
  return `${format(s.median)} <sub>${format(s.min)}–${format(s.max)}</sub>`;
}

function fig(row: RowResult, name: FigureName): Summary {
  return row.summary[name];
}

export function markdown(results: BenchResults, chartPath: string): string {
  const { meta } = results;
  const lines: string[] = [];
  lines.push(
    `Measured by \`${meta.command}\` on ${meta.date.slice(0, 16).replace("T", " ")} UTC (commit \`${meta.commit}\`),`,
    `${meta.node24 ? `retry-sidecar on Node ${meta.node24} (the image's line) and on Node ${meta.node20} (its Node 20 row), memory limit ${meta.memoryLimit}; Node peers on ${meta.peersNode}; ` : `Node ${meta.node}, `}${meta.cpus} CPUs, ${meta.pinning}. ${meta.rounds} interleaved round(s); each cell is the`,
    `median with the min–max over rounds in small print. Saturation: wrk, 1 thread, ${meta.connections} connections,`,
    `${meta.satSeconds} s per row per round. Fixed rate: ${meta.rate} req/s open loop for ${meta.rateSeconds} s.`,
    "",
    "| row | saturation req/s | p50 / p99 ms at saturation | CPU µs/req at saturation | CPU µs/req at fixed rate | peak RSS MB | added p50 / p99 ms at fixed rate |",
    "|---|---:|---:|---:|---:|---:|---:|",
  );
  for (const row of results.rows) {
    const direct = row.id === "direct";
    lines.push(
      `| ${row.label} | ${spread(fig(row, "satRps"), int)} | ${ms(fig(row, "satP50Us").median)} / ${ms(fig(row, "satP99Us").median)} | ${
        direct ? "—" : spread(fig(row, "satCpuUs"), fixed(1))
      } | ${direct ? "—" : spread(fig(row, "rateCpuUs"), fixed(1))} | ${
        direct ? "—" : spread(fig(row, "peakRssMb"), fixed(1))
      } | ${
        direct
          ? `(${ms(fig(row, "rateP50Us").median)} / ${ms(fig(row, "rateP99Us").median)} absolute)`
          : `${signedMs(fig(row, "addedP50Us").median)} / ${spread(fig(row, "addedP99Us"), signedMs)}`
      } |`,
    );
  }
  lines.push(...memoryTables(results));
  lines.push("", "| goal | target | measured (median of per-round values, min–max) | |", "|---|---|---|---|");
  for (const goal of results.goals) {
    const f =
      goal.unit === "x"
        ? (v: number) => `${v.toFixed(2)}×`
        : goal.unit === "MB"
          ? (v: number) => `${v.toFixed(1)} MB`
          : (v: number) => String(v);
    const verdict = goal.target === "A/B" || goal.target === "info" ? "" : goal.met ? "met" : "**not met**";
    lines.push(`| ${goal.name} | ${goal.target} | ${spread(goal.value, f)} | ${verdict} |`);
  }
  if (results.outage.length > 0) {
    lines.push(
      "",
      "Retry scenarios (retry-sidecar alone; upstream attempts counted in the upstream's access log):",
      "",
      "| full outage (always 503) | client requests | upstream attempts | attempts per request | expected |",
      "|---|---:|---:|---:|---|",
    );
    for (const s of results.outage) {
      lines.push(
        `| ${s.name} | ${s.clientRequests} | ${s.upstreamAttempts} | ${s.attemptsPerRequest.toFixed(2)} | ${s.expected} |`,
      );
    }
  }
  if (results.flaky.length > 0) {
    lines.push(
      "",
      "| 30% independent 503s | client requests | succeeded | success rate | theory 1−0.3^(retries+1) | attempts per request |",
      "|---|---:|---:|---:|---:|---:|",
    );
    for (const s of results.flaky) {
      lines.push(
        `| ${s.name} | ${s.clientRequests} | ${s.succeeded} | ${(100 * s.successRate).toFixed(1)}% | ${(100 * s.theory).toFixed(1)}% | ${(s.upstreamAttempts / s.clientRequests).toFixed(2)} |`,
      );
    }
  }
  if (results.notes.length > 0) lines.push("", ...results.notes.map((n) => `- ${n}`));
  if (results.profiles && results.profiles.length > 0) {
    lines.push(
      "",
      `CPU profiles (\`--cpu-prof\`): ${results.profiles.map((p) => `\`${p.file.replace(/^.*\/bench\//, "bench/")}\``).join(", ")}; top self time in the \`.top.txt\` beside each.`,
    );
  }
  lines.push("", `![bench chart](${chartPath})`);
  return lines.join("\n");
}

const mb = (bytes: number | undefined) => (bytes === undefined ? "—" : (bytes / 1e6).toFixed(1));

/** Memory as the pod sees it (limit, peaks, OOM kills), and where the resident set went at saturation. */
function memoryTables(results: BenchResults): string[] {
  const rows = results.rows.filter((r) => r.id !== "direct");
  const lines = [
    "",
    "Memory (RSS = VmRSS/VmHWM of the process; cgroup peak = memory.max_usage_in_bytes of its memory cgroup, what the limit and the OOM killer see; limit hits = memory.failcnt increase; OOM kills = times the process died (killed by the kernel inside its limit) over the whole run, warm-up included; it is restarted each time, and a round in which it died has no CPU or RSS figure):",
    "",
    "| row | Node | memory limit | RSS idle MB | peak RSS MB at saturation | cgroup peak MB | limit hits | OOM kills |",
    "|---|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    const oom = row.deaths ?? row.rounds.reduce((n, f) => n + (f.oomKills || 0), 0);
    lines.push(
      `| ${row.label} | ${row.node ?? "—"} | ${row.memoryLimit ?? "—"} | ${fixed(1)(row.idleRssMb ?? Number.NaN)} | ${spread(fig(row, "peakRssMb"), fixed(1))} | ${spread(fig(row, "cgroupPeakMb"), fixed(1))} | ${spread(fig(row, "limitHits"), int)} | ${oom > 0 ? `**${oom}**` : "0"} |`,
    );
  }
  const withMemory = rows.filter((r) => r.memory);
  if (withMemory.length === 0) return lines;
  lines.push(
    "",
    "Where the resident memory was near the end of the last saturation run, MB (bench/preload/memory-report.ts: /proc/PID/status, `v8.getHeapSpaceStatistics()` physical sizes, `process.memoryUsage()`). Anon outside the V8 heap = RssAnon − V8 committed: malloc arenas, Buffers, V8 zones and compiled code metadata, thread stacks:",
    "",
    "| row | RSS | RssFile (node binary) | RssAnon | V8 heap committed | new space | old space | code | large objects | other spaces | anon outside the V8 heap | external | arrayBuffers | brk heap (main malloc arena) | heap limit |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
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
      `| ${row.label} | ${mb(m.status.VmRSS)} | ${mb(m.status.RssFile)} (${mb(m.smapsByKind["node binary"])}) | ${mb(anon)} | ${mb(committed)} | ${mb(newSpace)} | ${mb(old)} | ${mb(code)} | ${mb(large)} | ${mb(committed - newSpace - old - code - large)} | ${mb(anon - committed)} | ${mb(m.memoryUsage.external)} | ${mb(m.memoryUsage.arrayBuffers)} | ${mb(m.smapsByKind["brk heap"])} | ${mb(m.heap.heap_size_limit)} |`,
    );
  }
  return lines;
}

export function chart(results: BenchResults): string {
  const panel = (
    title: string,
    name: FigureName,
    better: "higher" | "lower",
    format: (v: number) => string,
    scale = 1,
    skipDirect = true,
  ): Panel => ({
    title,
    better,
    format,
    bars: results.rows
      .filter((r) => !(skipDirect && r.id === "direct"))
      .map((r) => {
        const s = r.summary[name];
        return {
          label: r.label,
          highlight: r.id === "sidecar",
          value: { ...s, median: s.median * scale, min: s.min * scale, max: s.max * scale },
        };
      }),
  });
  const { meta } = results;
  return chartSvg(
    "retry-sidecar vs nginx, HAProxy and Node peers (POST /provider, 127.0.0.1)",
    `${meta.date.slice(0, 10)} · commit ${meta.commit} · ${meta.rounds} rounds · ${meta.pinning}`,
    [
      panel("Saturation throughput (req/s)", "satRps", "higher", int, 1, false),
      panel("Proxy CPU per request at saturation (µs)", "satCpuUs", "lower", fixed(1)),
      panel(`Proxy CPU per request at ${meta.rate} req/s (µs)`, "rateCpuUs", "lower", fixed(1)),
      panel(
        `Added p99 latency over direct at ${meta.rate} req/s (ms)`,
        "addedP99Us",
        "lower",
        fixed(2),
        0.001,
      ),
      panel("Peak RSS under saturation (MB)", "peakRssMb", "lower", fixed(1)),
    ],
  );
}

/**
 * Puts the generated text between the bench markers of a Markdown file's "Performance" section,
 * adding the section at the end when the file has none. Other text is left as it is.
 */
export function writeSection(file: string, generated: string, intro: string): void {
  const block = `${START}\n${generated}\n${END}`;
  let text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start >= 0 && end > start) {
    text = text.slice(0, start) + block + text.slice(end + END.length);
  } else {
    text = `${text.trimEnd()}${text ? "\n\n" : ""}## Performance\n\n${intro}\n\n${block}\n`;
  }
  writeFileSync(file, text);
}

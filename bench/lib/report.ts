import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { chartSvg, type Panel } from "./chart.js";
import { fig, fixed, int, ms, signedMs, spread } from "./format.js";
import { memoryTables, perThousandTable } from "./report-memory.js";
import type { BenchResults, FigureName } from "./results.js";

const START = "<!-- bench:start (written by `npm run bench`; do not edit by hand) -->";
const END = "<!-- bench:end -->";

export function markdown(results: BenchResults, chartPath: string): string {
  const { meta } = results;
  const lines: string[] = [];
  lines.push(
    `Measured by \`${meta.command}\` on ${meta.date.slice(0, 16).replace("T", " ")} UTC (commit \`${meta.commit}\`),`,
    `${meta.node24 ? `retry-sidecar on Node ${meta.node24} (the image's line) and on Node ${meta.node20} (its Node 20 row), memory limit ${meta.memoryLimit}; Node peers on ${meta.peersNode}; ` : `Node ${meta.node}, `}${meta.cpus} CPUs, ${meta.pinning}. ${meta.rounds} interleaved round(s); each row is judged by its best round`,
    `(least CPU, most req/s; memory by its largest round), the median over rounds in small print. Saturation: wrk, 1 thread, ${meta.connections} connections,`,
    `${meta.satSeconds} s per row per round. Fixed rate: ${meta.rate} req/s open loop for ${meta.rateSeconds} s.`,
    "",
    "| row | saturation req/s | p50 / p99 ms at saturation | CPU µs/req at saturation | CPU µs/req at fixed rate | peak RSS MB | added p50 / p99 ms at fixed rate |",
    "|---|---:|---:|---:|---:|---:|---:|",
  );
  for (const row of results.rows) {
    const direct = row.id === "direct";
    lines.push(
      `| ${row.label} | ${spread(fig(row, "satRps"), int)} | ${ms(fig(row, "satP50Us").judged)} / ${ms(fig(row, "satP99Us").judged)} | ${
        direct ? "—" : spread(fig(row, "satCpuUs"), fixed(1))
      } | ${direct ? "—" : spread(fig(row, "rateCpuUs"), fixed(1))} | ${
        direct ? "—" : spread(fig(row, "peakRssMb"), fixed(1))
      } | ${
        direct
          ? `(${ms(fig(row, "rateP50Us").judged)} / ${ms(fig(row, "rateP99Us").judged)} absolute)`
          : `${signedMs(fig(row, "addedP50Us").judged)} / ${spread(fig(row, "addedP99Us"), signedMs)}`
      } |`,
    );
  }
  lines.push(...perThousandTable(results), ...memoryTables(results));
  lines.push(
    "",
    "Goals, for the `retry-sidecar` row (a ratio is of the two rows' judged rounds: best for CPU and throughput, largest for memory; the median of the per-round ratios beside it):",
    "",
    "| goal | target | measured | median of per-round values <sub>min–max</sub> | |",
    "|---|---|---:|---|---|",
  );
  for (const goal of results.goals) {
    const f =
      goal.unit === "x"
        ? (v: number) => `${v.toFixed(2)}×`
        : goal.unit === "MB"
          ? (v: number) => `${v.toFixed(1)} MB`
          : goal.unit === "vCPU"
            ? (v: number) => `${v.toFixed(3)} vCPU`
            : (v: number) => String(v);
    const verdict = goal.target === "A/B" || goal.target === "info" ? "" : goal.met ? "met" : "**not met**";
    const v = goal.value;
    const median = v.values.length < 2 ? "—" : `${f(v.median)} <sub>${f(v.min)}–${f(v.max)}</sub>`;
    lines.push(`| ${goal.name} | ${goal.target} | ${f(goal.judged)} | ${median} | ${verdict} |`);
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
          value: {
            ...s,
            judged: s.judged * scale,
            median: s.median * scale,
            min: s.min * scale,
            max: s.max * scale,
          },
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

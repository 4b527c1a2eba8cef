import type { RunResult } from "./simulate.js";

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const secs = (x: number | undefined) => (x === undefined ? "" : Number.isFinite(x) ? `${x} s` : "never");

/** One markdown table per scenario: a row per variant, a column group per pod count. */
export function markdownTables(results: readonly RunResult[], podCounts: readonly number[]): string {
  const out: string[] = [];
  const scenarioNames = [...new Set(results.map((r) => r.scenario))];
  for (const scenario of scenarioNames) {
    const rows = results.filter((r) => r.scenario === scenario);
    const triggered = rows.some((r) => r.recoveryS !== undefined);
    const head = podCounts.map((p) =>
      triggered ? `${p} pods: att/req · success · in trigger · recovery` : `${p} pods: att/req · success`,
    );
    out.push(
      `### ${scenario}`,
      "",
      `| variant | ${head.join(" | ")} |`,
      `|---|${head.map(() => "---:").join("|")}|`,
    );
    for (const variant of [...new Set(rows.map((r) => r.variant))]) {
      const cells = podCounts.map((pods) => {
        const r = rows.find((x) => x.variant === variant && x.pods === pods);
        if (r === undefined) return "";
        const base = `${r.attemptsPerRequest.toFixed(2)} · ${pct(r.success)}`;
        return triggered ? `${base} · ${pct(r.duringTrigger ?? 0)} · ${secs(r.recoveryS)}` : base;
      });
      out.push(`| ${variant} | ${cells.join(" | ")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { failureChart, goodputChart } from "./lib/chart.js";
import { markdownTables } from "./lib/report.js";
import { scenarios } from "./lib/scenarios.js";
import { type RunResult, simulate } from "./lib/simulate.js";
import { variants } from "./lib/variants.js";

// The fleet simulator: every scenario x variant x pod count, in virtual time. See sim/README.md.
const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    scenario: { type: "string" },
    variant: { type: "string" },
    pods: { type: "string" },
    seed: { type: "string", default: "1" },
    seconds: { type: "string" },
    out: { type: "string" },
  },
});
const seed = Number(values.seed);
// --seconds: every scenario runs this long instead (a longer run shows when a collapse ends).
const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
const podCounts = (values.pods ?? (values.quick ? "10,100" : "10,100,1000")).split(",").map(Number);
const only = values.scenario?.split(",");
const onlyVariants = values.variant?.split(",");
const chosen = scenarios.filter((s) => only === undefined || only.includes(s.name));
const rows = variants.filter((v) =>
  onlyVariants === undefined ? v.extra !== true : onlyVariants.includes(v.name),
);
const badSeconds = seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 1);
if (
  chosen.length === 0 ||
  rows.length === 0 ||
  badSeconds ||
  podCounts.some((p) => !Number.isInteger(p) || p < 1)
) {
  console.error(
    "usage: npm run sim -- [--quick] [--scenario a,b] [--variant a,b] [--pods 10,100,1000] [--seed n] [--seconds n]",
  );
  process.exit(2);
}

const started = performance.now();
const results: RunResult[] = [];
for (const scenario of chosen) {
  // --quick: a third of the duration (and of the warm-up), for a first look.
  const quick = values.quick
    ? {
        ...scenario,
        durationS: Math.ceil(scenario.durationS / 3),
        warmupPerPod: Math.ceil(scenario.warmupPerPod / 3),
      }
    : scenario;
  const run = seconds === undefined ? quick : { ...quick, durationS: seconds };
  for (const variant of rows) {
    for (const pods of podCounts) results.push(await simulate(run, variant, pods, seed));
  }
  process.stderr.write(`${scenario.name} done (${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
}

const args = process.argv.slice(2);
const command = args.length === 0 ? "npm run sim" : `npm run sim -- ${args.join(" ")}`;
const note = `${command} · seed ${seed} · same total load at every pod count`;
const tables = markdownTables(results, podCounts);
console.log(tables);

const here = dirname(fileURLToPath(import.meta.url));
// Only the default run (every scenario, variant and pod count, seed 1) replaces the committed
// results; a partial or quick run goes to results/tmp/ (ignored by git), unless --out says where.
const partial =
  values.quick ||
  values.scenario !== undefined ||
  values.variant !== undefined ||
  values.pods !== undefined ||
  values.seed !== "1" ||
  values.seconds !== undefined;
const outDir = values.out ?? join(here, partial ? "results/tmp" : "results");
mkdirSync(outDir, { recursive: true });
const legend = rows.map((v) => `- \`${v.name}\`: ${v.about}`).join("\n");
writeFileSync(
  join(outDir, "results.md"),
  `# Fleet simulator results\n\nMade by \`${command}\` (seed ${seed}, virtual time). ` +
    "Each cell: upstream attempts per client request · success (2xx within the app's timeout); with a trigger also " +
    "success of the requests that arrived during it · recovery time after it. Scenarios: sim/README.md.\n\n" +
    `${legend}\n\n${tables}`,
);
if (chosen.some((s) => s.name.startsWith("random-"))) {
  writeFileSync(join(outDir, "random-failures.svg"), failureChart(results, podCounts, note));
}
for (const name of ["overload-drop", "outage-60"]) {
  if (chosen.some((s) => s.name === name))
    writeFileSync(join(outDir, `${name}.svg`), goodputChart(results, name, podCounts, note));
}
process.stderr.write(
  `wrote ${outDir}/results.md and charts in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
);

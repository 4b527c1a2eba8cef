/**
 * `npm run bench:profile -- FILE.cpuprofile [...] [--top=N]`: prints the top self-time functions
 * (file:line function) and areas (packages, node internals, dist/ directories, GC) of CPU profiles,
 * e.g. the ones `npm run bench -- --cpu-prof` writes to bench/results/tmp/profiles/.
 */
import { formatProfileSummary, summarizeProfile } from "./lib/cpuprofile.js";

const args = process.argv.slice(2);
const topArg = args.find((a) => a.startsWith("--top="));
const topN = topArg ? Number(topArg.slice("--top=".length)) : 25;
const files = args.filter((a) => !a.startsWith("--"));
if (files.length === 0 || !Number.isInteger(topN) || topN < 1) {
  process.stderr.write("usage: npm run bench:profile -- FILE.cpuprofile [...] [--top=N]\n");
  process.exit(2);
}
for (const file of files) process.stdout.write(`${formatProfileSummary(summarizeProfile(file, topN))}\n\n`);

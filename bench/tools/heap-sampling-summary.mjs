// Sampled bytes per request by allocating function and by file/package, from the profile that
// heap-sampling.mjs wrote: node heap-sampling-summary.mjs PROFILE.json REQUESTS
import { readFileSync } from "node:fs";

const [file, requestsArg] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, "utf8"));
const requests = Number(requestsArg);
const bySite = new Map();
const byFile = new Map();
const add = (map, key, bytes) => map.set(key, (map.get(key) ?? 0) + bytes);
const visit = (node) => {
  const { url, functionName, lineNumber } = node.callFrame;
  const where = url.replace(/.*node_modules\//, "").replace(/.*\/dist\//, "dist/");
  if (node.selfSize > 0) {
    add(
      bySite,
      `${where.split("/").slice(-2).join("/")}:${lineNumber} ${functionName || "(anonymous)"}`,
      node.selfSize,
    );
    add(
      byFile,
      where.startsWith("dist/") || where.startsWith("node:") ? where : where.split("/")[0] || "(native)",
      node.selfSize,
    );
  }
  for (const child of node.children ?? []) visit(child);
};
visit(profile.head);
const total = [...bySite.values()].reduce((a, b) => a + b, 0);
const show = (map, n) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${String(Math.round(v / requests)).padStart(7)}  ${k}`)
    .join("\n");
console.log(
  `sampled: ${Math.round(total / requests)} bytes per request\nby file or package:\n${show(byFile, 20)}\nby site:\n${show(bySite, 25)}`,
);

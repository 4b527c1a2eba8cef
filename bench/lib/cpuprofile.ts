/**
 * Summarises a V8 .cpuprofile (what `node --cpu-prof` writes): self time by function (file:function)
 * and by area (a package in node_modules, Node's own internals, a directory of dist/, GC), as shares
 * of the busy time (everything but "(idle)"). Self time is where the CPU was when sampled; the
 * callers of a hot function are not charged for it.
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface Share {
  name: string;
  ms: number;
  /** Of the busy time, 0..1. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  functions: Share[];
  areas: Share[];
}

/** "file:///x/node_modules/undici/lib/dispatcher/client-h1.js" → "undici/lib/dispatcher/client-h1.js". */
function shortUrl(url: string): string {
  if (url === "") return "";
  const path = url.replace(/^file:\/\//, "");
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) return path.slice(nm + "/node_modules/".length);
  // dist/, or the bench's private copies of it (bench/results/tmp/sidecar-dist/, a --baseline
  // dist): a directory named so, the last one, so that a checkout under /home/u/redistrib/ or a
  // dist/distance/ is not taken for one.
  const dirs = [...path.matchAll(/\/(?:[^/]*-)?dist\//g)];
  const dist = dirs[dirs.length - 1];
  if (dist) return `dist/${path.slice(dist.index + dist[0].length)}`;
  const build = path.lastIndexOf("/build/");
  if (build >= 0) return `bench/${path.slice(build + "/build/".length)}`;
  return path;
}

/** The area a function belongs to: a package, node's internals, a dist/ directory, or V8's pseudo-frames. */
function area(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native / builtins)";
  if (url.startsWith("node:")) return "node: internals";
  if (url.startsWith("wasm://")) return "wasm (undici's llhttp parser)";
  const short = shortUrl(url);
  if (short.startsWith("dist/")) {
    const parts = short.split("/");
    return parts.length > 2 ? `dist/${parts[1]}/` : "dist/";
  }
  if (url.includes("/node_modules/")) {
    const parts = short.split("/");
    return (parts[0] ?? "").startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? short);
  }
  return short;
}

function top(map: Map<string, number>, busyMs: number, n: number): Share[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ms]) => ({ name, ms, share: busyMs > 0 ? ms / busyMs : 0 }));
}

export function summarizeProfile(file: string, topN = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Self time per node: a sample is charged the interval up to the next sample (as DevTools does;
  // the last sample its own). Without samples, hit counts × mean interval.
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length > 0) {
    for (let i = 0; i < samples.length; i++) {
      const id = samples[i] as number;
      const dt = Math.max(0, deltas[i + 1] ?? deltas[i] ?? 0);
      selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    }
  } else {
    const hits = profile.nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
    const interval = hits > 0 ? (profile.endTime - profile.startTime) / hits : 0;
    for (const n of profile.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * interval);
  }
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let idleMs = 0;
  let totalMs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const ms = us / 1000;
    totalMs += ms;
    if (frame.functionName === "(idle)") {
      idleMs += ms;
      continue;
    }
    const where = shortUrl(frame.url);
    const name = `${where ? `${where}:${frame.lineNumber + 1}` : "(native)"} ${frame.functionName || "(anonymous)"}`;
    functions.set(name, (functions.get(name) ?? 0) + ms);
    const a = area(frame);
    areas.set(a, (areas.get(a) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  return {
    file,
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs,
    idleMs,
    functions: top(functions, busyMs, topN),
    areas: top(areas, busyMs, topN),
  };
}

export function formatProfileSummary(s: ProfileSummary): string {
  const pct = (v: number) => `${(100 * v).toFixed(1).padStart(5)}%`;
  const lines = [
    `${s.file}`,
    `  ${(s.wallMs / 1000).toFixed(1)} s profiled, ${(s.busyMs / 1000).toFixed(1)} s busy (shares below are of busy time), ${(s.idleMs / 1000).toFixed(1)} s idle`,
    "  self time by area:",
    ...s.areas.map((a) => `    ${pct(a.share)} ${a.ms.toFixed(0).padStart(7)} ms  ${a.name}`),
    "  self time by function (file:line function):",
    ...s.functions.map((f) => `    ${pct(f.share)} ${f.ms.toFixed(0).padStart(7)} ms  ${f.name}`),
  ];
  return lines.join("\n");
}

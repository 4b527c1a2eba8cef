/**
 * Preloaded into the bench's Node rows (`node --import=<build>/preload/memory-report.js ...`), so
 * that the figures come from inside the process without changing it: on SIGUSR2 it writes where
 * its resident memory is to $BENCH_MEMORY_REPORT (JSON, replaced each time). The bench sends the
 * signal near the end of each saturation run, while the load is still on.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { getHeapSpaceStatistics, getHeapStatistics } from "node:v8";

/** "Key:   123 kB" lines of a /proc file → bytes by key. */
function kbFields(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const match of text.matchAll(/^(\w+):\s+(\d+) kB$/gm))
    out[match[1] as string] = Number(match[2]) * 1024;
  return out;
}

function readProc(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/**
 * Resident bytes of /proc/self/smaps by kind of mapping: the node binary (file-backed, shared),
 * other files, the brk heap (glibc's main malloc arena), glibc's other malloc arenas (anonymous
 * read-write mappings whose reservation, with the inaccessible rest right after them, is 64 MiB),
 * JIT code (anonymous executable mappings), thread stacks, and the other anonymous mappings
 * (V8's heap pages, native buffers, wasm memory).
 */
function smapsByKind(): Record<string, number> {
  const out: Record<string, number> = {};
  const maps: { start: number; end: number; perms: string; kind: string; rss: number }[] = [];
  for (const line of readProc("/proc/self/smaps").split("\n")) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const path = header[4] ?? "";
      const kind =
        path === ""
          ? "anonymous"
          : path === "[heap]"
            ? "brk heap"
            : path.startsWith("[stack")
              ? "stack"
              : path.startsWith("[")
                ? "other"
                : path === process.execPath || path.endsWith("/bin/node")
                  ? "node binary"
                  : "other files";
      const [start, end] = [Number.parseInt(header[1] ?? "0", 16), Number.parseInt(header[2] ?? "0", 16)];
      maps.push({ start, end, perms: header[3] ?? "", kind, rss: 0 });
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    const last = maps[maps.length - 1];
    if (rss && last) last.rss += Number(rss[1]) * 1024;
  }
  const ARENA = 64 * 1024 * 1024;
  maps.forEach((m, i) => {
    let kind = m.kind;
    if (kind === "anonymous") {
      const next = maps[i + 1];
      if (m.perms.includes("x")) kind = "jit code";
      else if (next?.perms.startsWith("---") && next.start === m.end && next.end - m.start === ARENA)
        kind = "malloc arenas";
    }
    out[kind] = (out[kind] ?? 0) + m.rss;
  });
  return out;
}

export function memorySnapshot() {
  const status = kbFields(readProc("/proc/self/status"));
  return {
    at: new Date().toISOString(),
    pid: process.pid,
    node: process.version,
    execArgv: process.execArgv,
    memoryUsage: process.memoryUsage(),
    /** The cgroup limit node sees (Node >= 19), in bytes; undefined outside any limit. */
    constrainedMemory: process.constrainedMemory?.() || undefined,
    heap: getHeapStatistics(),
    heapSpaces: getHeapSpaceStatistics(),
    status: {
      VmRSS: status.VmRSS,
      VmHWM: status.VmHWM,
      RssAnon: status.RssAnon,
      RssFile: status.RssFile,
      RssShmem: status.RssShmem,
      Threads: Number(/^Threads:\s+(\d+)$/m.exec(readProc("/proc/self/status"))?.[1] ?? Number.NaN),
    },
    smapsRollup: kbFields(readProc("/proc/self/smaps_rollup")),
    smapsByKind: smapsByKind(),
  };
}

export type MemorySnapshot = ReturnType<typeof memorySnapshot>;

const file = process.env.BENCH_MEMORY_REPORT;
if (file) {
  process.on("SIGUSR2", () => {
    writeFileSync(file, `${JSON.stringify(memorySnapshot())}\n`);
  });
}

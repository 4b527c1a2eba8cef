/**
 * Memory cgroups (v1) for the rows that run "as the pod runs them": the kubelet puts a container's
 * processes in a memory cgroup whose memory.limit_in_bytes is the container's limits.memory, and the
 * kernel OOM-kills the process when it cannot reclaim below it. The bench does the same: a child
 * cgroup of the bench's own memory cgroup (so whatever limits this machine sets still apply above
 * it), the limit written, the process moved in by a shell that then execs node (so node starts
 * inside and sizes its heap from the limit, as Node 24 does), and the cgroup removed after it exits.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";

const MEMORY_ROOT = "/sys/fs/cgroup/memory";

/** "256Mi", "4Gi", "512M", "1e9", "134217728" → bytes (Kubernetes quantity suffixes). */
export function parseQuantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(text.trim());
  if (!match) throw new Error(`not a memory quantity: ${JSON.stringify(text)} (e.g. 128Mi, 4Gi)`);
  const factor: Record<string, number> = {
    "": 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.round(Number(match[1]) * (factor[match[2] ?? ""] ?? 1));
}

/** The manifest that holds the retry-sidecar container (the kustomize component's patch). */
export const SIDECAR_MANIFEST = join("k8s", "components", "retry-sidecar", "native-sidecar.yaml");

/** The retry-sidecar container's resources.limits.memory in SIDECAR_MANIFEST ("128Mi"). */
export function manifestMemoryLimit(repoDir: string): string | undefined {
  const file = join(repoDir, SIDECAR_MANIFEST);
  if (!existsSync(file)) return undefined;
  const doc = parseDocument(readFileSync(file, "utf8")).toJS() as {
    spec?: {
      template?: { spec?: Record<string, { name?: string; resources?: { limits?: { memory?: string } } }[]> };
    };
  };
  const pod = doc.spec?.template?.spec ?? {};
  for (const list of [pod.initContainers ?? [], pod.containers ?? []]) {
    const sidecar = list.find((c) => c.name === "retry-sidecar");
    const limit = sidecar?.resources?.limits?.memory;
    if (limit !== undefined) return String(limit);
  }
  return undefined;
}

/** This process's own memory cgroup directory, or a reason why none can be made below it. */
function parentCgroup(): { dir: string } | { error: string } {
  if (!existsSync(join(MEMORY_ROOT, "cgroup.procs"))) {
    return { error: `no cgroup v1 memory controller at ${MEMORY_ROOT}` };
  }
  const line = readFileSync("/proc/self/cgroup", "utf8")
    .split("\n")
    .find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  const own = line?.slice(line.indexOf(":", line.indexOf(":") + 1) + 1) ?? "/";
  const dir = join(MEMORY_ROOT, own);
  if (!existsSync(dir)) return { error: `own memory cgroup ${own} is not visible under ${MEMORY_ROOT}` };
  return { dir };
}

export interface MemoryCgroup {
  dir: string;
  limitBytes: number;
  /** The quantity as given ("256Mi"), for labels. */
  limit: string;
}

const created = new Set<string>();

/** Creates a memory cgroup with the limit, or returns why it cannot (not root, no v1 controller). */
export function createMemoryCgroup(name: string, limit: string): MemoryCgroup | { error: string } {
  const parent = parentCgroup();
  if ("error" in parent) return parent;
  const dir = join(parent.dir, name);
  const limitBytes = parseQuantity(limit);
  try {
    mkdirSync(dir);
    created.add(dir);
    writeFileSync(join(dir, "memory.limit_in_bytes"), String(limitBytes));
    // No swap on a kubelet node (it refuses to start with swap on, by default): make sure the
    // limit is not softened by swapping out where this machine has swap.
    if (existsSync(join(dir, "memory.swappiness"))) {
      try {
        writeFileSync(join(dir, "memory.swappiness"), "0");
      } catch {
        // Not every kernel lets a child set it; without swap it does not matter.
      }
    }
  } catch (error) {
    removeCgroupSync(dir);
    return { error: `cannot create ${dir}: ${error instanceof Error ? error.message : String(error)}` };
  }
  const effective = Number(readFileSync(join(dir, "memory.limit_in_bytes"), "utf8"));
  return { dir, limit, limitBytes: effective };
}

/** `cmd args` run by a shell that first moves itself into the cgroup, then execs the command. */
export function inCgroup(cgroup: MemoryCgroup, cmd: string, args: readonly string[]): [string, string[]] {
  return ["sh", ["-c", 'echo $$ > "$0" && exec "$@"', join(cgroup.dir, "cgroup.procs"), cmd, ...args]];
}

export interface CgroupSample {
  /** memory.max_usage_in_bytes: the peak the kernel charged to the cgroup (what the limit applies to). */
  peakBytes: number;
  usageBytes: number;
  /** memory.failcnt: how many times a charge hit the limit (each one forced reclaim). */
  failcnt: number;
  /** oom_kill from memory.oom_control (kernel >= 4.13): processes the OOM killer ended in it. */
  oomKills: number;
  /** memory.stat: rss (anonymous), cache (page cache), mapped_file, in bytes. */
  rssBytes: number;
  cacheBytes: number;
  /**
   * What the kubelet calls the container's working set (cAdvisor's container_memory_working_set_bytes,
   * what `kubectl top` shows and what eviction ranks by): usage_in_bytes − total_inactive_file.
   */
  workingSetBytes: number;
  /** memory.stat total_rss, total_active_file, total_inactive_file: the working set's split. */
  anonBytes: number;
  activeFileBytes: number;
  inactiveFileBytes: number;
}

function readNumber(file: string): number {
  try {
    return Number(readFileSync(file, "utf8").trim());
  } catch {
    return Number.NaN;
  }
}

function readKeyed(file: string): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [key, value] = line.split(" ");
      if (key && value !== undefined) out.set(key, Number(value));
    }
  } catch {
    // gone
  }
  return out;
}

export function sampleCgroup(cgroup: MemoryCgroup): CgroupSample {
  const stat = readKeyed(join(cgroup.dir, "memory.stat"));
  const usageBytes = readNumber(join(cgroup.dir, "memory.usage_in_bytes"));
  const inactiveFileBytes = stat.get("total_inactive_file") ?? Number.NaN;
  return {
    peakBytes: readNumber(join(cgroup.dir, "memory.max_usage_in_bytes")),
    usageBytes,
    failcnt: readNumber(join(cgroup.dir, "memory.failcnt")),
    oomKills: readKeyed(join(cgroup.dir, "memory.oom_control")).get("oom_kill") ?? 0,
    rssBytes: stat.get("rss") ?? Number.NaN,
    cacheBytes: stat.get("cache") ?? Number.NaN,
    // cAdvisor clamps at zero; usage can briefly lag memory.stat.
    workingSetBytes: Math.max(0, usageBytes - inactiveFileBytes),
    anonBytes: stat.get("total_rss") ?? Number.NaN,
    activeFileBytes: stat.get("total_active_file") ?? Number.NaN,
    inactiveFileBytes,
  };
}

/**
 * Samples the cgroup every intervalMs until stop(), which returns the sample with the largest
 * working set (the kubelet polls too, every 10-15 s: the largest is what it may see).
 */
export function watchCgroup(cgroup: MemoryCgroup, intervalMs = 100): { stop: () => CgroupSample } {
  let top = sampleCgroup(cgroup);
  const timer = setInterval(() => {
    const s = sampleCgroup(cgroup);
    if (!(s.workingSetBytes <= top.workingSetBytes)) top = s;
  }, intervalMs);
  return {
    stop: () => {
      clearInterval(timer);
      const s = sampleCgroup(cgroup);
      return s.workingSetBytes > top.workingSetBytes ? s : top;
    },
  };
}

/**
 * Reclaims every page charged to the cgroup (cgroup v1 memory.force_empty: dirty pages are written
 * back first) and returns the page cache still charged after it (memory.stat total_cache; the
 * usage also counts the kernel's own memory for the new files' inodes and dentries, a few MB,
 * which is not page cache). Used to drop the page cache of files copied from inside a scratch
 * cgroup, so that the next reader reads them from disk.
 */
export function forceEmpty(cgroup: MemoryCgroup): number {
  const cached = () => readKeyed(join(cgroup.dir, "memory.stat")).get("total_cache") ?? Number.NaN;
  // Pages still under writeback are skipped by one pass: a few passes catch them.
  for (let pass = 0; pass < 3 && !(cached() < 1e6); pass++) {
    writeFileSync(join(cgroup.dir, "memory.force_empty"), "0");
  }
  return cached();
}

/** Resets the cgroup's peak to its current usage, so that a phase measures its own peak. */
export function resetCgroupPeak(cgroup: MemoryCgroup): void {
  try {
    writeFileSync(join(cgroup.dir, "memory.max_usage_in_bytes"), "0");
  } catch {
    // gone
  }
}

function removeCgroupSync(dir: string): boolean {
  try {
    rmdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return false;
  }
  created.delete(dir);
  return true;
}

/** Removes the cgroup once its processes have gone (rmdir fails with EBUSY while one is left). */
export async function removeCgroup(cgroup: MemoryCgroup): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (removeCgroupSync(cgroup.dir)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.stderr.write(`bench: warning: could not remove ${cgroup.dir} (processes left in it?)\n`);
}

/** Last-resort cleanup on an unexpected exit (after the processes were signalled). */
export function removeAllCgroupsSync(): void {
  const deadline = Date.now() + 3000;
  while (created.size > 0 && Date.now() < deadline) {
    for (const dir of [...created]) removeCgroupSync(dir);
    if (created.size > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

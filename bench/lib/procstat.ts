import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** Kernel clock ticks per second for utime/stime in /proc/PID/stat (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SEC = 100;

interface StatLine {
  ppid: number;
  /** utime + stime of the whole thread group, in clock ticks. */
  ticks: number;
}

function readStat(pid: number): StatLine | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis are fixed.
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
}

/** The process and all its descendants (nginx/haproxy masters and their workers). */
export function processTree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat) parents.set(pid, stat.ppid);
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree.filter((pid) => parents.has(pid));
}

/** CPU time (user + system) used so far by the given processes, in microseconds. */
export function cpuMicros(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.ticks ?? 0;
  return (ticks * 1e6) / CLOCK_TICKS_PER_SEC;
}

function statusKb(pid: number, field: string): number {
  try {
    const match = readFileSync(`/proc/${pid}/status`, "utf8").match(
      new RegExp(`^${field}:\\s+(\\d+) kB`, "m"),
    );
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Peak resident set (VmHWM) summed over the processes, in MB (10^6 bytes). */
export function peakRssMb(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) kb += statusKb(pid, "VmHWM");
  return (kb * 1024) / 1e6;
}

/** Resets VmHWM to the current RSS (Linux >= 4.0: "5" > clear_refs) so a phase measures its own peak. */
export function resetPeakRss(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, "5");
    } catch {
      // Not permitted or gone: the peak then covers the process's whole life, which only overstates it.
    }
  }
}

/** Current resident set (VmRSS) summed over the processes, in MB (10^6 bytes). */
export function rssMb(pids: readonly number[]): number {
  let kb = 0;
  for (const pid of pids) kb += statusKb(pid, "VmRSS");
  return (kb * 1024) / 1e6;
}

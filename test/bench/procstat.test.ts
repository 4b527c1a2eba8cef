import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { cpuMicros, peakRssMb, processTree, resetPeakRss, rssMb } from "../../bench/lib/procstat.js";

// The CPU and RSS figures of every row come from /proc/PID/stat and /proc/PID/status. Read here for
// this test's own process (no process is started): they must agree with what Node reports itself.

// No pid is this large (pid_max is at most 2^22).
const GONE = 2 ** 30;

describe("procstat", () => {
  it("finds a process under its parent, and nothing for a pid that does not exist", () => {
    expect(processTree(process.ppid)).toContain(process.pid);
    expect(processTree(process.pid)[0]).toBe(process.pid);
    expect(processTree(GONE)).toEqual([]);
  });

  it("reads the CPU time (user + system) of the whole process, in µs", () => {
    const before = process.cpuUsage();
    // Some CPU work, bounded in time, so that ticks pass.
    const until = Date.now() + 100;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    const read = cpuMicros([process.pid]);
    const after = process.cpuUsage();
    expect(x).toBeGreaterThan(0);
    // Clock ticks of 10 ms: allow a few either side.
    expect(read).toBeGreaterThanOrEqual(before.user + before.system - 50_000);
    expect(read).toBeLessThanOrEqual(after.user + after.system + 50_000);
    expect(cpuMicros([process.pid, GONE])).toBeGreaterThanOrEqual(read);
    expect(cpuMicros([GONE])).toBe(0);
    expect(cpuMicros([])).toBe(0);
  });

  it("reads the resident set in MB (10^6 bytes), the peak at least the current, 0 for a pid that is gone", () => {
    // Node's own figure read just before and after: other threads may allocate meanwhile, so try a
    // few times for a moment when the two agree, then the figure must lie between them.
    let rss = Number.NaN;
    let bounds = [0, 0];
    for (let i = 0; i < 10; i++) {
      const before = process.memoryUsage().rss / 1e6;
      rss = rssMb([process.pid]);
      const after = process.memoryUsage().rss / 1e6;
      bounds = [Math.min(before, after), Math.max(before, after)];
      if (Math.abs(before - after) < 0.5) break;
    }
    expect(rss).toBeGreaterThanOrEqual((bounds[0] ?? 0) - 0.5);
    expect(rss).toBeLessThanOrEqual((bounds[1] ?? 0) + 0.5);
    expect(peakRssMb([process.pid])).toBeGreaterThanOrEqual(rss - 1);
    expect(rssMb([process.pid, process.pid])).toBeCloseTo(2 * rss, -1);
    expect(rssMb([GONE])).toBe(0);
    expect(peakRssMb([GONE])).toBe(0);
  });

  it("resets the peak to the current resident set, so that a phase measures its own peak", async () => {
    // A thread that touches 150 MB and ends: this process's peak stays 150 MB above its RSS.
    const worker = new Worker(
      'require("node:worker_threads").parentPort.postMessage(Buffer.alloc(150e6, 1)[0]);',
      { eval: true },
    );
    try {
      await new Promise((resolve) => worker.once("message", resolve));
    } finally {
      await worker.terminate();
    }
    expect(peakRssMb([process.pid])).toBeGreaterThan(rssMb([process.pid]) + 100);
    resetPeakRss([process.pid]);
    const peak = peakRssMb([process.pid]);
    const rss = rssMb([process.pid]);
    // The same unit as the resident set: now the two are about equal.
    expect(peak).toBeLessThan(rss + 20);
    expect(peak).toBeGreaterThan(rss - 0.5);
  });

  it("resetting the peak of a pid that is gone is not an error", () => {
    expect(() => resetPeakRss([GONE])).not.toThrow();
  });
});

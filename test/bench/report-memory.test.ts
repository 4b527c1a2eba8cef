import { describe, expect, it } from "vitest";
import { memoryTables, perThousandTable } from "../../bench/lib/report-memory.js";
import type { RoundFigures, RowResult } from "../../bench/lib/results.js";
import { benchResults, round, row } from "./support/bench-fixtures.js";

// The memory tables (the kubelet's working set, RSS, the cgroup's peak, OOM kills; where the
// resident set went) and the "per 1,000 req/s" table (Istio's units) of docs/performance.md.

const NO_CGROUP: Partial<RoundFigures> = {
  cgroupPeakMb: Number.NaN,
  limitHits: Number.NaN,
  satWorkingSetMb: Number.NaN,
  satAnonMb: Number.NaN,
  satActiveFileMb: Number.NaN,
  satInactiveFileMb: Number.NaN,
  rateWorkingSetMb: Number.NaN,
};

const results = (rows: RowResult[]) => benchResults({ rows });

const lineOf = (lines: string[], start: string) => lines.find((l) => l.startsWith(start));

describe("memoryTables", () => {
  const direct = row("direct", "direct to upstream", [round()]);
  const nginx = row("nginx", "nginx", [round({ ...NO_CGROUP, peakRssMb: 16.9 })], { idleRssMb: 16.5 });
  const sidecar = (
    over: Partial<RowResult> = {},
    rounds = [round(), round({ satWorkingSetMb: 73.3, limitHits: 4 })],
  ) =>
    row("sidecar", "retry-sidecar", rounds, {
      node: "24.21.0",
      memoryLimit: "128Mi",
      freshStart: true,
      idleRssMb: 87.2,
      idleCgroup: { usageMb: 130, workingSetMb: 35.6, anonMb: 33.8, activeFileMb: 0, inactiveFileMb: 98.1 },
      ...over,
    });

  it("leaves out the direct row and stops after the first table without memory snapshots", () => {
    const lines = memoryTables(results([direct, nginx, sidecar()]));
    expect(lines.some((l) => l.includes("direct to upstream"))).toBe(false);
    expect(lines.filter((l) => l.startsWith("| ") && !l.startsWith("| row"))).toHaveLength(2);
    expect(lines.some((l) => l.startsWith("Where the resident memory was"))).toBe(false);
  });

  it("shows a cgroup row's idle and saturation working set, its split at the largest sample, and its start", () => {
    const lines = memoryTables(results([sidecar()]));
    expect(lineOf(lines, "| retry-sidecar |")).toBe(
      "| retry-sidecar | 24.21.0 | 128Mi | fresh | 35.6 | 33.8 / 0.0 / 98.1 | 75.4 <sub>median 74.3</sub> | 51.8 / 21.1 / 57.8 | 87.2 | 108.6 <sub>median 108.6</sub> | 133.5 <sub>median 133.5</sub> | 4 <sub>median 2</sub> | 0 |",
    );
    expect(lineOf(memoryTables(results([sidecar({ freshStart: false })])), "| retry-sidecar |")).toContain(
      "| 128Mi | cached |",
    );
  });

  it("dashes what a row outside any cgroup did not measure", () => {
    expect(lineOf(memoryTables(results([nginx])), "| nginx |")).toBe(
      "| nginx | — | — | — | — | — | — | — | 16.5 | 16.9 | — | — | 0 |",
    );
  });

  it("bolds OOM kills: the run's deaths, else the rounds' kills added up", () => {
    const byDeaths = memoryTables(results([sidecar({ deaths: 3 })]));
    expect(lineOf(byDeaths, "| retry-sidecar |")?.endsWith("| **3** |")).toBe(true);
    const byRounds = memoryTables(
      results([
        sidecar({}, [round({ oomKills: 1 }), round({ oomKills: 2 }), round({ oomKills: Number.NaN })]),
      ]),
    );
    expect(lineOf(byRounds, "| retry-sidecar |")?.endsWith("| **3** |")).toBe(true);
    // deaths: 0 is what the run counted, even if a round says otherwise.
    const zero = memoryTables(results([sidecar({ deaths: 0 }, [round({ oomKills: 1 })])]));
    expect(lineOf(zero, "| retry-sidecar |")?.endsWith("| 0 |")).toBe(true);
  });

  it("splits the resident memory of a row with a snapshot into the V8 spaces and what is outside the heap", () => {
    const MB = 1e6;
    const memory = {
      status: { VmRSS: 90 * MB, RssFile: 30 * MB, RssAnon: 58 * MB },
      smapsByKind: {
        "node binary": 25 * MB,
        "brk heap": 4 * MB,
        "malloc arenas": 6 * MB,
        "jit code": 2 * MB,
      },
      heap: { total_physical_size: 40 * MB, heap_size_limit: 100 * MB },
      heapSpaces: [
        { space_name: "new_space", physical_space_size: 8 * MB },
        { space_name: "new_large_object_space", physical_space_size: 1 * MB },
        { space_name: "old_space", physical_space_size: 20 * MB },
        { space_name: "code_space", physical_space_size: 3 * MB },
        { space_name: "code_large_object_space", physical_space_size: 0.5 * MB },
        { space_name: "large_object_space", physical_space_size: 4 * MB },
        { space_name: "trusted_space", physical_space_size: 2 * MB },
      ],
      memoryUsage: { external: 5 * MB, arrayBuffers: 1.5 * MB },
    } as unknown as RowResult["memory"];
    const lines = memoryTables(results([nginx, sidecar({ memory })]));
    const snapshot = lines.slice(lines.findIndex((l) => l.startsWith("Where the resident memory was")));
    const rows = snapshot.filter((l) => l.startsWith("| ") && !l.startsWith("| row"));
    // committed 40 = new 9 + old 20 + code 3.5 + large 4 + other 3.5; outside the heap = 58 − 40.
    expect(rows).toEqual([
      "| retry-sidecar | 90.0 | 30.0 (25.0) | 58.0 | 40.0 | 9.0 | 20.0 | 3.5 | 4.0 | 3.5 | 18.0 | 5.0 | 1.5 | 4.0 | 6.0 | 2.0 | 100.0 |",
    ]);
  });

  /** The snapshot line of a sidecar whose process read only `status` (nothing of the heap). */
  const snapshotLine = (status: Record<string, number>) => {
    const memory = {
      status,
      smapsByKind: {},
      heap: { total_physical_size: 0, heap_size_limit: 0 },
      heapSpaces: [],
      memoryUsage: { external: 0, arrayBuffers: 0 },
    } as unknown as RowResult["memory"];
    return memoryTables(results([sidecar({ memory })])).filter((l) => l.startsWith("| retry-sidecar |"))[1];
  };

  it("dashes the snapshot's figures that the process could not read", () => {
    expect(snapshotLine({ RssAnon: 2e6 })).toBe(
      "| retry-sidecar | — | — (—) | 2.0 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | 0.0 | 2.0 | 0.0 | 0.0 | — | — | — | 0.0 |",
    );
  });

  it("dashes RssAnon, and what is worked out from it, when the process could not read it", () => {
    const line = snapshotLine({ VmRSS: 2e6 });
    expect(line).not.toContain("NaN");
    expect(line?.split(" | ")[3]).toBe("—");
  });
});

describe("perThousandTable", () => {
  it("is empty when no proxy row ran the fixed rate", () => {
    expect(perThousandTable(results([row("direct", "direct", [round()])]))).toEqual([]);
    expect(perThousandTable(results([row("sidecar", "s", [round({ rateCpuUs: Number.NaN })])]))).toEqual([]);
  });

  it("shows vCPU as CPU per request ÷ 1000 and CPU per request against nginx's best round", () => {
    const lines = perThousandTable(
      results([
        row("direct", "direct", [round()]),
        row("nginx", "nginx", [
          round({ ...NO_CGROUP, rateCpuUs: 40 }),
          round({ ...NO_CGROUP, rateCpuUs: 33.9 }),
        ]),
        row("sidecar", "retry-sidecar", [
          round({ rateCpuUs: 75.2 }),
          round({ rateCpuUs: 114.5, rateAchieved: 987 }),
        ]),
        row("haproxy", "HAProxy", [round({ rateCpuUs: Number.NaN })]),
      ]),
    );
    expect(lines[1]).toContain("~1000 req/s offered");
    const body = lines.filter((l) => l.startsWith("| ") && !l.startsWith("| row"));
    expect(body).toEqual([
      "| nginx | 1,007 <sub>median 1,007</sub> | 33.9 <sub>median 37.0</sub> | 0.034 <sub>median 0.037</sub> | — | 1.00× |",
      "| retry-sidecar | 1,007 <sub>median 997</sub> | 75.2 <sub>median 94.8</sub> | 0.075 <sub>median 0.095</sub> | 75.7 <sub>median 75.7</sub> | 2.22× |",
    ]);
  });

  it("dashes the nginx ratio when nginx did not run", () => {
    const lines = perThousandTable(results([row("sidecar", "retry-sidecar", [round()])]));
    expect(lines.at(-1)?.endsWith("| — |")).toBe(true);
  });
});

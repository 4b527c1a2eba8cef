import { describe, expect, it } from "vitest";
import { type FigureName, isSidecarRow, JUDGED_BY, ROW_LABELS, type RowId } from "../../bench/lib/results.js";

describe("isSidecarRow", () => {
  it("is true for every row that runs a retry-sidecar build, the baseline and memory rows included", () => {
    const sidecar: RowId[] = [
      "sidecar",
      "sidecar-3ep",
      "sidecar-node20",
      "baseline",
      "sidecar@128Mi",
      "sidecar@none",
    ];
    for (const id of sidecar) expect(isSidecarRow(id), id).toBe(true);
  });

  it("is false for the peers and the direct row", () => {
    const peers: RowId[] = ["direct", "nginx", "haproxy", "fastify", "bare", "dispatch"];
    for (const id of peers) expect(isSidecarRow(id), id).toBe(false);
  });
});

describe("JUDGED_BY", () => {
  // docs/performance.md: "each row is judged by its best round (least CPU, most req/s; memory by its
  // largest round)": a shared machine only adds cost, and a memory limit has to hold in every round.
  it("judges CPU and latency by the smallest round", () => {
    const min: FigureName[] = [
      "satCpuUs",
      "rateCpuUs",
      "satP50Us",
      "satP99Us",
      "rateP50Us",
      "rateP99Us",
      "addedP50Us",
      "addedP99Us",
    ];
    for (const name of min) expect(JUDGED_BY[name], name).toBe("min");
  });

  it("judges throughput, memory, errors and kills by the largest round", () => {
    const max = (Object.keys(JUDGED_BY) as FigureName[]).filter((n) => JUDGED_BY[n] === "max");
    expect(max.sort()).toEqual(
      [
        "satRps",
        "rateAchieved",
        "satErrors",
        "rateErrors",
        "peakRssMb",
        "cgroupPeakMb",
        "limitHits",
        "satWorkingSetMb",
        "satAnonMb",
        "satActiveFileMb",
        "satInactiveFileMb",
        "rateWorkingSetMb",
        "oomKills",
      ].sort(),
    );
  });
});

describe("ROW_LABELS", () => {
  it("labels the shipped row retry-sidecar, as the goals table names it", () => {
    expect(ROW_LABELS.sidecar).toBe("retry-sidecar");
    expect(ROW_LABELS.direct).toBe("direct to upstream");
  });
});

import { describe, expect, it } from "vitest";
import type { CgroupSample } from "../../bench/lib/cgroup.js";
import { computeGoals, type GoalInputs } from "../../bench/lib/goals.js";
import type { Goal, RoundFigures, RowId } from "../../bench/lib/results.js";

// The goals of the shipped row (docs/performance.md "Goals"): a ratio goal is the ratio of the two
// rows' judged rounds (the best for CPU and throughput, the largest for memory), with the median of
// the per-round ratios beside it; the memory-limit goal alone is judged on that median.

const round = (over: Partial<RoundFigures> = {}): RoundFigures => ({
  satRps: 10_000,
  satP50Us: 1000,
  satP99Us: 3000,
  satErrors: 0,
  satCpuUs: 30,
  peakRssMb: 100,
  cgroupPeakMb: 120,
  limitHits: 0,
  satWorkingSetMb: 60,
  satAnonMb: 40,
  satActiveFileMb: 10,
  satInactiveFileMb: 10,
  oomKills: 0,
  rateCpuUs: 100,
  rateP50Us: 500,
  rateP99Us: 900,
  rateAchieved: 1000,
  rateErrors: 0,
  rateWorkingSetMb: 55,
  addedP50Us: 50,
  addedP99Us: 100,
  ...over,
});

const cgroup = (workingSetBytes: number) => ({ workingSetBytes }) as CgroupSample;

function goals(rows: Partial<Record<RowId, RoundFigures[]>>, over: Partial<GoalInputs> = {}): Goal[] {
  return computeGoals({
    perRound: new Map(Object.entries(rows) as [RowId, RoundFigures[]][]),
    idleRss: new Map(),
    idleCgroup: new Map(),
    deaths: () => 0,
    ...over,
  });
}

const find = (list: Goal[], name: string) => {
  const g = list.find((x) => x.name.startsWith(name));
  if (!g) throw new Error(`no goal ${name}: ${list.map((x) => x.name).join("; ")}`);
  return g;
};

describe("computeGoals", () => {
  it("has no goals without a measured sidecar row", () => {
    expect(goals({ nginx: [round()] })).toEqual([]);
    expect(goals({ sidecar: [] })).toEqual([]);
  });

  it("judges a CPU ratio by the two rows' best (smallest) rounds; the per-round ratios go beside", () => {
    const g = find(
      goals({
        sidecar: [round({ satCpuUs: 40 }), round({ satCpuUs: 30 })],
        dispatch: [round({ satCpuUs: 20 }), round({ satCpuUs: 30 })],
      }),
      "CPU per request at saturation vs the bare dispatch forwarder",
    );
    expect(g.judged).toBe(30 / 20);
    expect(g.value.values).toEqual([2, 1]);
    expect(g.value.median).toBe(1.5);
    expect(g.met).toBe(false);
    expect(g.target).toBe("≤ 1.15×");
    expect(g.unit).toBe("x");
  });

  it("judges the throughput ratio by the two rows' best (largest) rounds", () => {
    const g = find(
      goals({
        sidecar: [round({ satRps: 14_000 }), round({ satRps: 7_000 })],
        fastify: [round({ satRps: 5_000 }), round({ satRps: 10_000 })],
      }),
      "saturation throughput vs fastify",
    );
    expect(g.judged).toBe(1.4);
    expect(g.value.values).toEqual([14_000 / 5_000, 0.7]);
    expect(g.met).toBe(true);
  });

  it("leaves out a ratio goal whose other row was not measured", () => {
    const list = goals({ sidecar: [round()] });
    expect(list.some((g) => g.name.includes("vs nginx"))).toBe(false);
    expect(list.some((g) => g.name.includes("dispatch"))).toBe(false);
  });

  it("gives a per-round ratio of NaN for a round the other row lacks", () => {
    const g = find(
      goals({
        sidecar: [round({ satCpuUs: 30 }), round({ satCpuUs: 30 })],
        nginx: [round({ satCpuUs: 15 })],
      }),
      "CPU per request at saturation vs nginx",
    );
    expect(g.value.values).toEqual([2, Number.NaN]);
    expect(g.value.median).toBe(2);
  });

  // Each target holds at its bound and fails just past it.
  const bounds: {
    name: string;
    at: Partial<Record<RowId, RoundFigures[]>>;
    past: Partial<Record<RowId, RoundFigures[]>>;
  }[] = [
    {
      name: "CPU per request at saturation vs the bare dispatch forwarder",
      at: { sidecar: [round({ satCpuUs: 23 })], dispatch: [round({ satCpuUs: 20 })] },
      past: { sidecar: [round({ satCpuUs: 23.01 })], dispatch: [round({ satCpuUs: 20 })] },
    },
    {
      name: "CPU per request at saturation vs nginx",
      at: { sidecar: [round({ satCpuUs: 30 })], nginx: [round({ satCpuUs: 10 })] },
      past: { sidecar: [round({ satCpuUs: 30.01 })], nginx: [round({ satCpuUs: 10 })] },
    },
    {
      name: "saturation throughput vs fastify",
      at: { sidecar: [round({ satRps: 14_000 })], fastify: [round({ satRps: 10_000 })] },
      past: { sidecar: [round({ satRps: 13_999 })], fastify: [round({ satRps: 10_000 })] },
    },
    {
      name: "vCPU per 1,000 req/s",
      at: { sidecar: [round({ rateCpuUs: 200 })] },
      past: { sidecar: [round({ rateCpuUs: 200.1 })] },
    },
    {
      name: "CPU per request at 1,000 req/s vs nginx",
      at: { sidecar: [round({ rateCpuUs: 250 })], nginx: [round({ rateCpuUs: 100 })] },
      past: { sidecar: [round({ rateCpuUs: 250.1 })], nginx: [round({ rateCpuUs: 100 })] },
    },
    {
      name: "added p99 at fixed rate vs nginx's",
      at: { sidecar: [round({ addedP99Us: 200 })], nginx: [round({ addedP99Us: 100 })] },
      past: { sidecar: [round({ addedP99Us: 200.1 })], nginx: [round({ addedP99Us: 100 })] },
    },
    {
      name: "working set at saturation",
      at: { sidecar: [round({ satWorkingSetMb: 70 })] },
      past: { sidecar: [round({ satWorkingSetMb: 70.1 })] },
    },
    {
      name: "non-2xx answers or errors at saturation",
      at: { sidecar: [round({ satErrors: 0 })] },
      past: { sidecar: [round({ satErrors: 1 })] },
    },
    {
      name: "CPU per request, 3 endpoints vs 1 endpoint",
      at: { sidecar: [round({ satCpuUs: 100 })], "sidecar-3ep": [round({ satCpuUs: 105 })] },
      past: { sidecar: [round({ satCpuUs: 100 })], "sidecar-3ep": [round({ satCpuUs: 105.1 })] },
    },
    {
      name: "saturation throughput at 128Mi vs at 4Gi",
      at: {
        sidecar: [round()],
        "sidecar@128Mi": [round({ satRps: 95 })],
        "sidecar@4Gi": [round({ satRps: 100 })],
      },
      past: {
        sidecar: [round()],
        "sidecar@128Mi": [round({ satRps: 94.9 })],
        "sidecar@4Gi": [round({ satRps: 100 })],
      },
    },
  ];
  for (const b of bounds) {
    it(`"${b.name}" is met at its target and not met past it`, () => {
      expect(find(goals(b.at), b.name).met).toBe(true);
      expect(find(goals(b.past), b.name).met).toBe(false);
    });
  }

  it("states vCPU per 1,000 req/s as the best fixed-rate CPU per request ÷ 1000", () => {
    const g = find(
      goals({ sidecar: [round({ rateCpuUs: 120 }), round({ rateCpuUs: 80 })] }),
      "vCPU per 1,000 req/s",
    );
    expect(g.judged).toBe(0.08);
    expect(g.value.values).toEqual([0.12, 0.08]);
    expect(g.unit).toBe("vCPU");
    expect(g.target).toBe("≤ 0.20");
  });

  it("judges memory and errors by the largest round", () => {
    const list = goals({
      sidecar: [
        round({ satWorkingSetMb: 60, rateWorkingSetMb: 50, limitHits: 0, satErrors: 0, peakRssMb: 90 }),
        round({ satWorkingSetMb: 75, rateWorkingSetMb: 52, limitHits: 3, satErrors: 2, peakRssMb: 110 }),
      ],
    });
    const ws = find(list, "working set at saturation");
    expect(ws.judged).toBe(75);
    expect(ws.met).toBe(false);
    expect(ws.unit).toBe("MB");
    expect(find(list, "working set at 1,000 req/s").judged).toBe(52);
    expect(find(list, "limit hits").judged).toBe(3);
    expect(find(list, "non-2xx").judged).toBe(2);
    expect(find(list, "non-2xx").met).toBe(false);
    expect(find(list, "peak RSS").judged).toBe(110);
  });

  it("reports the info rows as met whatever they measure", () => {
    const list = goals(
      { sidecar: [round({ rateWorkingSetMb: 1e6, limitHits: 1e6, peakRssMb: 1e6 })] },
      { idleRss: new Map([["sidecar", 1e6]]) },
    );
    for (const g of list.filter((x) => x.target === "info")) expect(g.met).toBe(true);
    expect(list.filter((x) => x.target === "info").map((x) => x.name)).toEqual([
      "working set at 1,000 req/s (largest round)",
      "limit hits at saturation (memory.failcnt)",
      "peak RSS under saturation (largest round)",
      "RSS idle",
    ]);
    expect(find(list, "RSS idle").judged).toBe(1e6);
  });

  it("leaves out the idle figures that were not measured", () => {
    const list = goals({ sidecar: [round()] });
    expect(list.some((g) => g.name.startsWith("working set idle"))).toBe(false);
    expect(list.some((g) => g.name === "RSS idle")).toBe(false);
  });

  it("judges the idle working set in MB (10^6 bytes) against 45 MB", () => {
    const at = goals({ sidecar: [round()] }, { idleCgroup: new Map([["sidecar", cgroup(45e6)]]) });
    expect(find(at, "working set idle").judged).toBe(45);
    expect(find(at, "working set idle").met).toBe(true);
    const past = goals({ sidecar: [round()] }, { idleCgroup: new Map([["sidecar", cgroup(45.1e6)]]) });
    expect(find(past, "working set idle").met).toBe(false);
  });

  it("counts OOM kills over every retry-sidecar row of the run, and no other row", () => {
    const deaths: Partial<Record<RowId, number>> = {
      sidecar: 1,
      "sidecar-3ep": 2,
      "sidecar-node20": 4,
      "sidecar@128Mi": 8,
      baseline: 16,
      nginx: 32,
    };
    const rows = Object.fromEntries(Object.keys(deaths).map((id) => [id, [round()]]));
    const g = find(goals(rows, { deaths: (id) => deaths[id] ?? 0 }), "OOM kills");
    expect(g.judged).toBe(15);
    expect(g.met).toBe(false);
    expect(g.unit).toBe("count");
    expect(find(goals({ sidecar: [round()] }), "OOM kills").met).toBe(true);
  });

  it("compares the smallest memory limit with the largest on the median of per-round ratios, not the best rounds", () => {
    const list = goals({
      sidecar: [round()],
      "sidecar@4Gi": [round({ satRps: 100 }), round({ satRps: 100 }), round({ satRps: 100 })],
      "sidecar@none": [round({ satRps: 1 })],
      "sidecar@512Mi": [round({ satRps: 1 })],
      "sidecar@128Mi": [round({ satRps: 100 }), round({ satRps: 50 }), round({ satRps: 96 })],
    });
    const g = find(list, "saturation throughput at 128Mi vs at 4Gi (median of rounds)");
    expect(g.value.values).toEqual([1, 0.5, 0.96]);
    // The best rounds' ratio would be 1.00: the collapsed round pulls the median down.
    expect(g.judged).toBe(0.96);
    expect(g.met).toBe(true);
  });

  it("has no memory-limit goal with a single limited row", () => {
    const list = goals({ sidecar: [round()], "sidecar@128Mi": [round()], "sidecar@none": [round()] });
    expect(list.some((g) => g.name.startsWith("saturation throughput at"))).toBe(false);
  });

  it("adds the 3-endpoint ratio only when that row ran, judged 3ep ÷ 1ep", () => {
    expect(goals({ sidecar: [round()] }).some((g) => g.name.includes("3 endpoints"))).toBe(false);
    const g = find(
      goals({ sidecar: [round({ satCpuUs: 20 })], "sidecar-3ep": [round({ satCpuUs: 21 })] }),
      "CPU per request, 3 endpoints",
    );
    expect(g.judged).toBe(1.05);
  });

  it("adds the Node 20 comparison as info, sidecar ÷ node20", () => {
    const list = goals({
      sidecar: [round({ satCpuUs: 30, satRps: 200, satWorkingSetMb: 80 })],
      "sidecar-node20": [round({ satCpuUs: 20, satRps: 100, satWorkingSetMb: 40 })],
    });
    const node = list.filter((g) => g.name.startsWith("Node 24 vs Node 20"));
    expect(node.map((g) => [g.judged, g.target, g.met])).toEqual([
      [1.5, "info", true],
      [2, "info", true],
      [2, "info", true],
    ]);
  });

  it("adds the A/B rows against a baseline build, its idle working set included", () => {
    const list = goals(
      {
        sidecar: [round({ satCpuUs: 30, peakRssMb: 120 })],
        baseline: [round({ satCpuUs: 20, peakRssMb: 100 })],
      },
      {
        idleCgroup: new Map([
          ["sidecar", cgroup(40e6)],
          ["baseline", cgroup(32e6)],
        ]),
      },
    );
    const ab = list.filter((g) => g.name.startsWith("A/B"));
    expect(ab).toHaveLength(7);
    for (const g of ab) expect([g.target, g.met, g.unit]).toEqual(["A/B", true, "x"]);
    expect(find(list, "A/B: CPU per request at saturation").judged).toBe(1.5);
    expect(find(list, "A/B: peak RSS").judged).toBe(1.2);
    expect(find(list, "A/B: working set idle").judged).toBe(1.25);
    // Without the baseline row, none.
    expect(goals({ sidecar: [round()] }).some((g) => g.name.startsWith("A/B"))).toBe(false);
  });

  it("leaves out the A/B idle ratio when either idle figure is missing", () => {
    const list = goals(
      { sidecar: [round()], baseline: [round()] },
      { idleCgroup: new Map([["baseline", cgroup(32e6)]]) },
    );
    expect(list.some((g) => g.name.startsWith("A/B: working set idle"))).toBe(false);
  });

  it("lists the goals in the order of the docs' table", () => {
    const list = goals(
      {
        sidecar: [round()],
        dispatch: [round()],
        nginx: [round()],
        fastify: [round()],
        "sidecar@128Mi": [round()],
        "sidecar@4Gi": [round()],
      },
      { idleCgroup: new Map([["sidecar", cgroup(30e6)]]), idleRss: new Map([["sidecar", 80]]) },
    );
    expect(list.map((g) => g.name)).toEqual([
      "CPU per request at saturation vs the bare dispatch forwarder",
      "CPU per request at saturation vs nginx",
      "saturation throughput vs fastify + reply-from",
      "vCPU per 1,000 req/s (fixed rate)",
      "CPU per request at 1,000 req/s vs nginx",
      "added p99 at fixed rate vs nginx's",
      "saturation throughput at 128Mi vs at 4Gi (median of rounds)",
      "working set idle (after start and one request)",
      "working set at saturation (largest round)",
      "working set at 1,000 req/s (largest round)",
      "limit hits at saturation (memory.failcnt)",
      "OOM kills (all retry-sidecar rows, whole run)",
      "non-2xx answers or errors at saturation (nothing shed)",
      "peak RSS under saturation (largest round)",
      "RSS idle",
    ]);
  });
});

import { resolve } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BASE_ROWS, parseOptions } from "../../bench/lib/options.js";

// `npm run bench -- ...`: what runs, for how long, and whether the run may rewrite the published
// figures (docs/performance.md is only rewritten by a full, default run).

describe("parseOptions", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("--help prints the usage and exits 0", () => {
    const write = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const exit = vi.spyOn(process, "exit").mockImplementation((code) => {
      throw new Error(`exit ${code}`);
    });
    expect(() => parseOptions(["--rounds=3", "--help"])).toThrow("exit 0");
    expect(exit).toHaveBeenCalledTimes(1);
    expect(String(write.mock.calls[0]?.[0])).toMatch(/^npm run bench \[-- options\]\n {2}--quick/);
    expect(String(write.mock.calls[0]?.[0])).toContain(
      `--rows=a,b           subset of ${BASE_ROWS.join(",")},sidecar@LIMIT`,
    );
  });

  it("runs every fixed row and the 128Mi and 4Gi memory rows, 5 rounds, by default", () => {
    const o = parseOptions([]);
    expect(o.rows).toEqual([...BASE_ROWS, "sidecar@128Mi", "sidecar@4Gi"]);
    expect(o).toMatchObject({
      quick: false,
      rounds: 5,
      connections: 32,
      satSeconds: 5,
      warmSeconds: 5,
      rate: 1000,
      rateConnections: 50,
      rateSeconds: 8,
      scenarioSeconds: 4,
      scenarios: true,
      sidecarNodeArgs: [],
      sidecarEnv: {},
      baselineNodeArgs: [],
      baselineEnv: {},
      memoryLimit: undefined,
      node24: undefined,
      peersNode: "24",
      cpuProf: [],
      memoryReport: true,
      freshStart: true,
      baselineMain: undefined,
      sidecarMain: undefined,
      writeReadme: true,
      keepTemp: false,
      command: "npm run bench",
    });
  });

  it("--quick runs one short round and never rewrites the docs", () => {
    const o = parseOptions(["--quick"]);
    expect(o).toMatchObject({
      quick: true,
      rounds: 1,
      satSeconds: 2,
      warmSeconds: 2,
      rateSeconds: 2,
      scenarioSeconds: 1,
      connections: 32,
      rate: 1000,
      writeReadme: false,
      command: "npm run bench -- --quick",
    });
  });

  it("takes numbers, rounding counts and seconds to whole numbers", () => {
    const o = parseOptions([
      "--rounds=3.4",
      "--seconds=2.6",
      "--connections=8",
      "--rate=1500.5",
      "--rate-seconds=1.5",
    ]);
    expect(o).toMatchObject({ rounds: 3, satSeconds: 3, connections: 8, rate: 1500.5, rateSeconds: 1.5 });
  });

  it("an explicit number wins over --quick's", () => {
    expect(parseOptions(["--quick", "--rounds=4"]).rounds).toBe(4);
  });

  it("rejects a number that is not positive; only --rate-seconds may be 0", () => {
    for (const bad of [
      "--rounds=0",
      "--seconds=-1",
      "--rate=abc",
      "--connections=Infinity",
      "--rate-seconds=-1",
    ])
      expect(() => parseOptions([bad]), bad).toThrow(/must be a positive number/);
    expect(parseOptions(["--rate-seconds=0"]).rateSeconds).toBe(0);
  });

  it("rejects a count that rounds to none: rounds, connections and seconds are whole numbers", () => {
    for (const bad of ["--rounds=0.4", "--seconds=0.3", "--connections=0.2"])
      expect(() => parseOptions([bad]), bad).toThrow(/must be at least 1/);
    expect(parseOptions(["--rounds=2.6"]).rounds).toBe(3);
  });

  it("rejects an environment setting that is not NAME=value", () => {
    for (const bad of ["--sidecar-env=FOO,BAR=1", "--baseline-env==1"])
      expect(() => parseOptions([bad]), bad).toThrow(/NAME=value/);
  });

  it("rejects an unknown option", () => {
    expect(() => parseOptions(["--round=3"])).toThrow(/unknown option --round/);
  });

  it("--rows runs direct first and the rows named, in that order, and does not rewrite the docs", () => {
    const o = parseOptions(["--rows=sidecar,nginx,direct,sidecar@256Mi"]);
    expect(o.rows).toEqual(["direct", "sidecar", "nginx", "sidecar@256Mi"]);
    expect(o.writeReadme).toBe(false);
  });

  it("rejects an unknown row and a memory row whose limit is not a quantity", () => {
    expect(() => parseOptions(["--rows=envoy"])).toThrow(/unknown row envoy/);
    expect(() => parseOptions(["--rows=sidecar@lots"])).toThrow(/not a memory quantity/);
    expect(parseOptions(["--rows=sidecar@none"]).rows).toEqual(["direct", "sidecar@none"]);
  });

  it("--memory-rows replaces the default memory rows; empty runs none", () => {
    expect(parseOptions(["--memory-rows=256Mi"]).rows).toEqual([...BASE_ROWS, "sidecar@256Mi"]);
    expect(parseOptions(["--memory-rows="]).rows).toEqual(BASE_ROWS);
    expect(() => parseOptions(["--memory-rows=big"])).toThrow(/not a memory quantity/);
  });

  it("--memory-limit takes a quantity or none", () => {
    expect(parseOptions(["--memory-limit=256Mi"]).memoryLimit).toBe("256Mi");
    expect(parseOptions(["--memory-limit=none"]).memoryLimit).toBe("none");
    expect(() => parseOptions(["--memory-limit=big"])).toThrow(/not a memory quantity/);
  });

  it("--peers-node is 24 or 20", () => {
    expect(parseOptions(["--peers-node=20"]).peersNode).toBe("20");
    expect(() => parseOptions(["--peers-node=22"])).toThrow(/--peers-node must be 24 or 20/);
  });

  it("--cpu-prof profiles the sidecar row; with rows, the known ones named", () => {
    expect(parseOptions(["--cpu-prof"]).cpuProf).toEqual(["sidecar"]);
    expect(parseOptions(["--cpu-prof=nginx,bogus,sidecar@128Mi"]).cpuProf).toEqual([
      "nginx",
      "sidecar@128Mi",
    ]);
  });

  it("splits node flags on spaces (both spellings add up) and settings on commas, keeping = in values", () => {
    const o = parseOptions([
      "--sidecar-node-args=--max-semi-space-size=8  --jitless",
      "--sidecar-node-flags=--expose-gc",
      "--sidecar-env=MALLOC_ARENA_MAX=2,OPTS=a=b",
      "--baseline-node-args=--trace-gc",
      "--baseline-env=LOG_LEVEL=warn",
    ]);
    expect(o.sidecarNodeArgs).toEqual(["--max-semi-space-size=8", "--jitless", "--expose-gc"]);
    expect(o.sidecarEnv).toEqual({ MALLOC_ARENA_MAX: "2", OPTS: "a=b" });
    expect(o.baselineNodeArgs).toEqual(["--trace-gc"]);
    expect(o.baselineEnv).toEqual({ LOG_LEVEL: "warn" });
  });

  it("resolves the build and binary paths to absolute ones", () => {
    const o = parseOptions(["--baseline=old/main.js", "--sidecar=new/main.js", "--node24=bin/node"]);
    expect(o.baselineMain).toBe(resolve("old/main.js"));
    expect(o.sidecarMain).toBe(resolve("new/main.js"));
    expect(o.node24).toBe(resolve("bin/node"));
  });

  it("turns the switches off", () => {
    const o = parseOptions(["--no-scenarios", "--no-memory-report", "--cached-start", "--keep-temp"]);
    expect(o).toMatchObject({ scenarios: false, memoryReport: false, freshStart: false, keepTemp: true });
  });

  it("rewrites the docs only from a default run: any option that changes what is measured stops it", () => {
    for (const arg of [
      "--quick",
      "--no-readme",
      "--rows=sidecar",
      "--sidecar-node-args=--jitless",
      "--sidecar-node-flags=--jitless",
      "--baseline=x/main.js",
      "--sidecar-env=A=1",
      "--sidecar=x/main.js",
      "--memory-limit=256Mi",
      "--memory-rows=256Mi",
      "--peers-node=20",
      "--node24=/x/node",
      "--cpu-prof",
      "--cached-start",
    ])
      expect(parseOptions([arg]).writeReadme, arg).toBe(false);
    // More rounds, longer runs or skipping the scenarios still publish.
    expect(parseOptions(["--rounds=10", "--seconds=8", "--no-scenarios", "--keep-temp"]).writeReadme).toBe(
      true,
    );
  });

  it("records the command as typed", () => {
    expect(parseOptions(["--rounds=3", "--no-readme"]).command).toBe(
      "npm run bench -- --rounds=3 --no-readme",
    );
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatProfileSummary, type ProfileSummary, summarizeProfile } from "../../bench/lib/cpuprofile.js";

// `--cpu-prof`'s summary (the .top.txt beside each profile): self time by function and by area, as
// shares of the busy time, i.e. everything but "(idle)".

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bench-cpuprofile-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

type Frame = [functionName: string, url: string, lineNumber?: number];

/** A profile with one node per frame (ids from 1), written to the temp dir. */
function profile(
  frames: Frame[],
  rest: { samples?: number[]; timeDeltas?: number[]; hits?: number[]; endTime?: number },
) {
  const file = join(dir, "p.cpuprofile");
  writeFileSync(
    file,
    JSON.stringify({
      nodes: frames.map(([functionName, url, lineNumber = 0], i) => ({
        id: i + 1,
        callFrame: { functionName, url, lineNumber },
        ...(rest.hits ? { hitCount: rest.hits[i] } : {}),
      })),
      startTime: 1_000_000,
      endTime: rest.endTime ?? 3_000_000,
      samples: rest.samples,
      timeDeltas: rest.timeDeltas,
    }),
  );
  return file;
}

const byName = (shares: { name: string; ms: number; share: number }[]) =>
  Object.fromEntries(shares.map((s) => [s.name, [s.ms, s.share]]));

describe("summarizeProfile", () => {
  it("charges each sample the interval up to the next one, the last its own, none negative", () => {
    const file = profile(
      [
        ["(idle)", ""],
        ["work", "file:///app/dist/main.js", 9],
      ],
      { samples: [2, 1, 2, 2], timeDeltas: [0, 3000, 1000, -5000] },
    );
    const s = summarizeProfile(file);
    // work: 3 ms (up to the idle sample) + 0 (a negative interval) + 0 (the last sample's own, negative);
    // idle: the 1 ms up to the next sample.
    expect(s.idleMs).toBe(1);
    expect(s.busyMs).toBe(3);
    expect(s.wallMs).toBe(2000);
    expect(byName(s.functions)).toEqual({ "dist/main.js:10 work": [3, 1] });
  });

  it("without samples, spreads the profiled time over the hit counts", () => {
    const file = profile(
      [
        ["(idle)", ""],
        ["a", "node:internal/http", 0],
        ["b", "node:internal/http", 4],
      ],
      { hits: [2, 1, 1], endTime: 1_400_000 },
    );
    const s = summarizeProfile(file);
    // 400 ms over 4 hits: 100 ms each.
    expect(s.idleMs).toBe(200);
    expect(s.busyMs).toBe(200);
    expect(byName(s.areas)).toEqual({ "node: internals": [200, 1] });
    expect(byName(s.functions)).toEqual({
      "node:internal/http:1 a": [100, 0.5],
      "node:internal/http:5 b": [100, 0.5],
    });
  });

  it("has no time and no shares without samples or hits", () => {
    const s = summarizeProfile(profile([["a", "node:x"]], { hits: [0] }));
    expect([s.busyMs, s.idleMs]).toEqual([0, 0]);
    expect(s.functions).toEqual([{ name: "node:x:1 a", ms: 0, share: 0 }]);
  });

  it("sorts by self time, largest first, and keeps the top N", () => {
    const frames: Frame[] = [
      ["a", "node:a"],
      ["b", "node:b"],
      ["c", "node:c"],
    ];
    const s = summarizeProfile(
      profile(frames, { samples: [1, 2, 2, 3, 3, 3], timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000] }),
      2,
    );
    expect(s.functions.map((f) => f.name)).toEqual(["node:c:1 c", "node:b:1 b"]);
    expect(s.busyMs).toBe(6);
  });

  it("ignores samples of nodes the profile does not list", () => {
    const s = summarizeProfile(profile([["a", "node:a"]], { samples: [1, 99], timeDeltas: [0, 1000, 1000] }));
    expect(s.busyMs).toBe(1);
    expect(s.functions.map((f) => f.name)).toEqual(["node:a:1 a"]);
  });

  it("names functions by short file:line, a nameless one (anonymous), one without a file (native)", () => {
    const frames: Frame[] = [
      ["", "file:///x/node_modules/undici/lib/dispatcher/client-h1.js", 10],
      ["(garbage collector)", ""],
      ["parse", "file:///repo/bench/results/tmp/sidecar-dist/retry/loop.js", 0],
      // A checkout whose path holds "dist" above dist/, and a directory inside dist/ whose name does.
      ["check", "file:///home/u/redistrib/retry-sidecar/dist/retry/check.js", 5],
      ["near", "file:///repo/dist/distance/near.js", 6],
      ["run", "file:///repo/bench/build/run.js", 1],
      ["x", "/elsewhere/tool.js", 2],
      // node_modules and build/ at the root of the file system.
      ["y", "file:///node_modules/pino/index.js", 3],
      ["z", "file:///build/load.js", 4],
    ];
    const samples = frames.map((_, i) => i + 1);
    const s = summarizeProfile(profile(frames, { samples, timeDeltas: samples.map(() => 1000) }));
    expect(s.functions.map((f) => f.name).sort()).toEqual(
      [
        "undici/lib/dispatcher/client-h1.js:11 (anonymous)",
        "(native) (garbage collector)",
        "dist/retry/loop.js:1 parse",
        "dist/retry/check.js:6 check",
        "dist/distance/near.js:7 near",
        "bench/run.js:2 run",
        "/elsewhere/tool.js:3 x",
        "pino/index.js:4 y",
        "bench/load.js:5 z",
      ].sort(),
    );
  });

  it("groups self time by area: package, node internals, wasm, dist directory, V8's pseudo-frames", () => {
    const frames: Frame[] = [
      ["a", "file:///x/node_modules/undici/lib/core/util.js"],
      ["b", "file:///x/node_modules/undici/index.js"],
      ["c", "file:///x/node_modules/@fastify/reply-from/index.js"],
      ["d", "node:internal/streams"],
      ["e", "wasm://wasm/abc"],
      ["f", "file:///repo/dist/retry/loop.js"],
      ["g", "file:///repo/dist/main.js"],
      ["(garbage collector)", ""],
      ["JSON.parse", ""],
      ["h", "file:///repo/bench/build/x.js"],
      ["i", "file:///x/node_modules/a/node_modules/pino/lib/x.js"],
    ];
    const samples = frames.map((_, i) => i + 1);
    const s = summarizeProfile(profile(frames, { samples, timeDeltas: samples.map(() => 1000) }));
    expect(byName(s.areas)).toEqual({
      undici: [2, 2 / 11],
      "@fastify/reply-from": [1, 1 / 11],
      "node: internals": [1, 1 / 11],
      "wasm (undici's llhttp parser)": [1, 1 / 11],
      "dist/retry/": [1, 1 / 11],
      "dist/": [1, 1 / 11],
      "(garbage collector)": [1, 1 / 11],
      "(native / builtins)": [1, 1 / 11],
      "bench/x.js": [1, 1 / 11],
      pino: [1, 1 / 11],
    });
  });

  it("adds up one function's time over all its nodes (called from different places)", () => {
    const frames: Frame[] = [
      ["f", "node:a"],
      ["f", "node:a"],
    ];
    const s = summarizeProfile(profile(frames, { samples: [1, 2], timeDeltas: [0, 1000] }));
    expect(byName(s.functions)).toEqual({ "node:a:1 f": [2, 1] });
  });
});

describe("formatProfileSummary", () => {
  it("prints seconds, then areas and functions as percentages of busy time with their ms", () => {
    const s: ProfileSummary = {
      file: "p.cpuprofile",
      wallMs: 10_000,
      busyMs: 4_000,
      idleMs: 6_049,
      areas: [{ name: "undici", ms: 1234.4, share: 0.30861 }],
      functions: [{ name: "node:a:1 f", ms: 40, share: 0.01 }],
    };
    expect(formatProfileSummary(s)).toBe(
      [
        "p.cpuprofile",
        "  10.0 s profiled, 4.0 s busy (shares below are of busy time), 6.0 s idle",
        "  self time by area:",
        "     30.9%    1234 ms  undici",
        "  self time by function (file:line function):",
        "      1.0%      40 ms  node:a:1 f",
      ].join("\n"),
    );
  });
});

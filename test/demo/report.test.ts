import { describe, expect, it } from "vitest";
import type { RequestResult } from "../../demo/load-client.js";
import {
  counterByLabel,
  type DemoReport,
  type EndpointsPart,
  formatEndpointsPart,
  formatReport,
  percentile,
  summarize,
} from "../../demo/report.js";

const run = (label: string, failed: number, duplicates: number) => ({
  label,
  sent: 300,
  firstTry: 221,
  afterRetries: 79 - failed,
  failed,
  upstreamAttempts: 401,
  duplicates,
  p50Ms: 12.4,
  p99Ms: 1108.2,
});

const report: DemoReport = {
  runs: [
    { ...run("no sidecar", 79, 0), afterRetries: 0 },
    run("app retries 3×", 1, 25),
    run("with sidecar", 1, 0),
  ],
  retriesByReason: { "503": 32, reset: 40, timeout: 14, "429": 15 },
  skippedByReason: { budget: 0, deadline: 0 },
};

describe("formatReport", () => {
  const text = formatReport(report, { color: false });
  const lines = text.split("\n");

  it("prints an aligned table with every figure the spec asks for", () => {
    const table = lines.slice(0, 8);
    expect(table[0]).toMatch(/no sidecar\s+app retries 3×\s+with sidecar$/);
    for (const name of [
      "requests sent",
      "ok at the first attempt",
      "ok after retries",
      "failed",
      "upstream attempts",
      "duplicate providers",
      "latency p50 / p99",
    ]) {
      expect(table.some((line) => line.trimStart().startsWith(name))).toBe(true);
    }
    // Right-aligned columns: every row of the table ends at the same column.
    expect(new Set(table.map((line) => line.length)).size).toBe(1);
    expect(text).toContain("79 (26.3%)");
    expect(text).toContain("12 / 1108 ms");
    expect(text).toContain("reset ×40, 503 ×32, 429 ×15, timeout ×14");
    expect(text).toContain("retries skipped (retry_sidecar_retries_skipped_total): none");
    expect(text).toMatch(/Without the sidecar 26\.3% of requests failed; with it 0\.3%, with 0 duplicate/);
    expect(text).toContain("(app retries 3× by itself: 0.3% failed, and 25 duplicate providers created)");
  });

  it("uses colour only when asked, without changing the text", () => {
    expect(text).not.toContain("\x1b[");
    const coloured = formatReport(report, { color: true });
    expect(coloured).toContain("\x1b[");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
    expect(coloured.replace(/\x1b\[\d+m/g, "")).toBe(text);
  });
});

describe("figures", () => {
  it("summarize splits first-attempt successes, retried successes and failures", () => {
    const results: RequestResult[] = [
      { ok: true, status: 201, attempts: 1, latencyMs: 5 },
      { ok: true, status: 200, attempts: 3, latencyMs: 150 },
      { ok: false, status: 503, attempts: 4, latencyMs: 400 },
      { ok: false, status: undefined, attempts: 1, latencyMs: 2000 },
    ];
    expect(summarize("x", results, { attempts: 9, duplicates: 0 })).toEqual({
      label: "x",
      sent: 4,
      firstTry: 1,
      afterRetries: 1,
      failed: 2,
      upstreamAttempts: 9,
      duplicates: 0,
      p50Ms: 150,
      p99Ms: 2000,
    });
  });

  it("percentile is nearest-rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile([], 0.5)).toBe(0);
  });

  it("counterByLabel reads a counter from Prometheus text", () => {
    const exposition = [
      "# HELP retry_sidecar_retries_total Retries started.",
      "# TYPE retry_sidecar_retries_total counter",
      'retry_sidecar_retries_total{route="/provider",reason="503"} 12',
      'retry_sidecar_retries_total{route="/other",reason="503"} 3',
      'retry_sidecar_retries_total{route="/provider",reason="reset"} 4',
      'retry_sidecar_retries_skipped_total{route="/provider",reason="budget"} 9',
    ].join("\n");
    expect(counterByLabel(exposition, "retry_sidecar_retries_total", "reason")).toEqual({
      "503": 15,
      reset: 4,
    });
  });
});

describe("formatEndpointsPart", () => {
  const runOf = (label: string, failed: number, sickAttempts: number) => ({
    ...run(label, failed, 0),
    sent: 150,
    firstTry: 131,
    afterRetries: 19 - failed,
    sickAttempts,
  });
  const headless: EndpointsPart = {
    title: "three addresses (a headless Service)",
    runs: [runOf("app retries 3×", 19, 76), runOf("with sidecar", 0, 5)],
    ejection: { afterMs: 31.4, sickAttempts: 5 },
  };

  it("prints the title, an aligned table with the sick instance's attempts, and the ejection", () => {
    const lines = formatEndpointsPart(headless, { color: false }).split("\n");
    expect(lines[0]).toBe("  three addresses (a headless Service)");
    const table = lines.slice(1, 9);
    expect(table[0]).toMatch(/app retries 3×\s+with sidecar$/);
    expect(new Set(table.map((line) => line.length)).size).toBe(1);
    expect(table.find((line) => line.includes("attempts on the sick one"))).toMatch(/76\s+5$/);
    expect(table.find((line) => line.includes("failed"))).toMatch(/19 \(12\.7%\)\s+0 \(0\.0%\)$/);
    expect(lines[9]).toBe(
      "  The sidecar ejected the sick endpoint 31 ms after its first request, when it had got 5 attempts; it got 5 in all.",
    );
  });

  it("without an ejection, says why a lone endpoint still helps; colour changes no text", () => {
    const one = { ...headless, title: "one address", ejection: undefined };
    const text = formatEndpointsPart(one, { color: false });
    expect(text).toContain("One address is one endpoint, never ejected.");
    expect(text).not.toContain("ejected the sick endpoint");
    const coloured = formatEndpointsPart(one, { color: true });
    expect(coloured).toContain("\x1b[");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
    expect(coloured.replace(/\x1b\[\d+m/g, "")).toBe(text);
  });
});

describe("figures: first attempt", () => {
  it("ok at the first attempt counts only successes with exactly one upstream attempt", () => {
    const results: RequestResult[] = [
      { ok: true, status: 201, attempts: 1, latencyMs: 5 },
      { ok: true, status: 201, attempts: 1, latencyMs: 6 },
      { ok: true, status: 200, attempts: 2, latencyMs: 150 },
      { ok: false, status: undefined, attempts: 1, latencyMs: 2000 },
    ];
    expect(summarize("x", results, { attempts: 5, duplicates: 0 })).toMatchObject({
      firstTry: 2,
      afterRetries: 1,
      failed: 1,
    });
  });
});

// The colour codes of a table line, in order, without the resets: "1" bold, "31" red, "32" green,
// "33" yellow.
const codes = (line: string | undefined) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: reading ANSI colour codes
  [...(line ?? "").matchAll(/\x1b\[(\d+)m/g)].map((m) => m[1]).filter((c) => c !== "0");
const row = (text: string, name: string) =>
  text.split("\n").find((line) => line.trimStart().startsWith(name));

describe("colours", () => {
  it("failed is green at none, yellow up to 1% of requests, red above; any duplicate is red", () => {
    const coloured = formatReport(
      {
        runs: [run("no sidecar", 4, 1), run("app retries 3×", 3, 0), run("with sidecar", 0, 0)],
        retriesByReason: {},
        skippedByReason: {},
      },
      { color: true },
    );
    expect(codes(row(coloured, "failed"))).toEqual(["31", "33", "32"]);
    expect(codes(row(coloured, "duplicate providers"))).toEqual(["31", "32", "32"]);
    expect(codes(row(coloured, "requests sent"))).toEqual([]);
  });

  it("the sick-instance table colours its labels bold and only its failed row, red or green", () => {
    const part: EndpointsPart = {
      title: "t",
      runs: [
        { ...run("app retries 3×", 19, 0), sickAttempts: 76 },
        { ...run("with sidecar", 0, 0), sickAttempts: 5 },
      ],
      ejection: undefined,
    };
    const lines = formatEndpointsPart(part, { color: true }).split("\n");
    expect(codes(lines[1])).toEqual(["1", "1"]); // the run labels; the empty corner is not coloured
    const table = lines.slice(2, 9);
    expect(table.map((line) => [line.trim().split(/ {2,}/)[0], codes(line)])).toEqual([
      ["requests sent", []],
      ["ok at the first attempt", []],
      ["ok after retries", []],
      ["failed", ["31", "32"]],
      ["upstream attempts", []],
      ["attempts on the sick one", []],
      ["latency p50 / p99", []],
    ]);
  });
});

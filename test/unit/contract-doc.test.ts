import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { settings } from "../../src/config/settings.js";
import { createMetrics } from "../../src/observability/metrics.js";

// docs/contract.md is what operators read; these checks keep it level with the code: every
// setting with its default, every metric with its labels, every admin path, every log message.

const repoRoot = join(import.meta.dirname, "..", "..");
const contract = readFileSync(join(repoRoot, "docs", "contract.md"), "utf8");

/** The table rows of one `## ` section, as cells without the surrounding pipes. */
function tableRows(section: string): string[][] {
  const start = contract.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`docs/contract.md has no "## ${section}" section`);
  const end = contract.indexOf("\n## ", start + 1);
  return contract
    .slice(start, end < 0 ? undefined : end)
    .split("\n")
    .filter((line) => line.startsWith("| ") && !/^\|\s*-/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

/** The `backticked` names of a cell, leaving out what is in parentheses (their values). */
const namesIn = (cell: string) => [...cell.replace(/\([^)]*\)/g, "").matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/** Every file under src/, as text. */
function sources(dir = join(repoRoot, "src")): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [readFileSync(join(dir, entry.name), "utf8")]
        : [],
  );
}

describe("docs/contract.md", () => {
  it("lists every setting with its default", () => {
    const rows = new Map(tableRows("Configuration").map(([name = "", value = ""]) => [name, value]));
    for (const [variable, setting] of Object.entries(settings)) {
      const documented = rows.get(`\`${variable}\``);
      expect(documented, variable).toBeDefined();
      if (setting.default === "") expect(documented, variable).toMatch(/^\(.+\)$/);
      else expect(documented, variable).toBe(`\`${setting.default}\``);
    }
  });

  it("lists every retry_sidecar_ metric with its type and exactly its labels", () => {
    const rows = new Map(tableRows("Metrics").map(([name = "", ...rest]) => [name, rest]));
    const { registry } = createMetrics(["/provider"]);
    const ours = registry.getMetricsAsArray().filter((m) => m.name.startsWith("retry_sidecar_"));
    expect(ours.length).toBeGreaterThan(5);
    for (const metric of ours) {
      const [type = "", labels = ""] = rows.get(`\`${metric.name}\``) ?? [];
      expect(type, metric.name).toBe((metric as unknown as { type: string }).type);
      const labelNames = (metric as unknown as { labelNames: string[] }).labelNames;
      expect(namesIn(labels).sort(), metric.name).toEqual([...labelNames].sort());
    }
  });

  it("lists every path of the admin listener", () => {
    const documented = tableRows("Admin listener").map(([request = ""]) => request);
    const admin = readFileSync(join(repoRoot, "src", "server", "admin-app.ts"), "utf8");
    const paths = [...admin.matchAll(/app\.get\("([^"]+)"/g)].map((m) => m[1]);
    expect(paths.length).toBeGreaterThanOrEqual(4);
    for (const path of paths) expect(documented, path).toContain(`\`GET ${path}\``);
  });

  it("lists every log message the sidecar writes", () => {
    const documented = tableRows("Logs").map(([msg = ""]) => msg);
    const messages = sources().flatMap((text) =>
      [...text.matchAll(/logger\.(?:fatal|error|warn|info|debug|trace)\([^"]*?"([^"]+)"\s*,?\s*\)/g)].map(
        (m) => m[1],
      ),
    );
    expect(messages).toEqual(expect.arrayContaining(["upstream retry", "request completed", "stopped"]));
    for (const msg of messages) expect(documented, msg).toContain(`\`${msg}\``);
  });
});

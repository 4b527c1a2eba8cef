import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot, requireBuild } from "./helpers/paths.js";

// A clone is usable right after `npm ci`: package.json's "prepare" builds dist/ (.ci/run checks
// that on its fresh clone), and the "bin" entry lets `npx retry-sidecar` run it.
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  main: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

describe("the package's entry points", () => {
  it("names dist/main.js as main and as the retry-sidecar command, built by `prepare`", () => {
    expect(pkg.main).toBe("dist/main.js");
    expect(pkg.bin).toEqual({ "retry-sidecar": "dist/main.js" });
    expect(pkg.scripts.prepare).toBe("node scripts/prepare.mjs");
  });

  it("builds dist/main.js executable, with the node shebang kept by the TypeScript build", () => {
    const shebang = "#!/usr/bin/env node\n";
    expect(readFileSync(join(repoRoot, "src", "main.ts"), "utf8").startsWith(shebang)).toBe(true);
    expect(readFileSync(requireBuild(), "utf8").startsWith(shebang)).toBe(true);
    // npx runs the bin through a shell: tsc writes new files 0644, `npm run build` makes it 0755.
    expect(pkg.scripts.build).toMatch(/chmodSync\('dist\/main\.js', 0o755\)/);
    expect(statSync(requireBuild()).mode & 0o111).not.toBe(0);
  });

  it("runs as `npx retry-sidecar --help` in the clone, offline", () => {
    const run = spawnSync("npx", ["--offline", "retry-sidecar", "--help"], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^ {2}UPSTREAM_URL +"http:\/\/127\.0\.0\.1:5002"/m);
  });
});

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "./helpers/paths.js";

// scripts/write-sbom.mjs and scripts/check-licences.mjs, as .ci/steps/sbom.sh runs them: the real
// bill of materials passes; doctored copies of it (a licence outside the allow-list, none, an
// expression, a dropped dependency) fail with a line naming the package.

interface Component {
  name: string;
  version: string;
  licenses?: ({ license: { id?: string; name?: string } } | { expression: string })[];
}
interface Bom {
  bomFormat: string;
  components: Component[];
}

const dir = mkdtempSync(join(tmpdir(), "retry-sidecar-sbom-test-"));
const sbomPath = join(dir, "retry-sidecar.cdx.json");
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
let bom: Bom;

function node(script: string, args: string[]) {
  return spawnSync(process.execPath, [join(repoRoot, "scripts", script), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 60_000,
  });
}

/** Runs the check on a copy of the real SBOM changed by `doctor`. */
function checkDoctored(doctor: (bom: Bom) => void) {
  const copy = structuredClone(bom);
  doctor(copy);
  const path = join(dir, `doctored-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(copy));
  return node("check-licences.mjs", [path]);
}
const component = (b: Bom, name: string) => {
  const found = b.components.find((c) => c.name === name);
  if (!found) throw new Error(`${name} not in the SBOM`);
  return found;
};

beforeAll(() => {
  const write = node("write-sbom.mjs", ["--out", sbomPath]);
  expect(write.status, write.stderr).toBe(0);
  bom = JSON.parse(readFileSync(sbomPath, "utf8")) as Bom;
}, 90_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the bill of materials (scripts/write-sbom.mjs)", () => {
  it("is CycloneDX and lists every runtime dependency, including those a dev dependency shares", () => {
    expect(bom.bomFormat).toBe("CycloneDX");
    const names = bom.components.map((c) => c.name);
    // pino and undici are also used by fastify / @fastify/reply-from, which `npm sbom --omit dev`
    // on the repository itself drops: the staged lock file keeps them.
    for (const name of Object.keys(pkg.dependencies)) expect(names, name).toContain(name);
  });

  it("lists no development dependency", () => {
    const names = new Set(bom.components.map((c) => c.name));
    for (const name of Object.keys(pkg.devDependencies)) expect(names.has(name), name).toBe(false);
  });
});

describe("the licence check (scripts/check-licences.mjs)", () => {
  it("passes the real bill of materials", () => {
    const check = node("check-licences.mjs", [sbomPath]);
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/every licence allowed/);
  });

  it("fails on a licence outside the allow-list, naming the package and the licence", () => {
    const check = checkDoctored((b) => {
      component(b, "hono").licenses = [{ license: { id: "GPL-3.0-only" } }];
    });
    expect(check.status).toBe(1);
    expect(check.stderr).toMatch(/^check-licences: hono@[\d.]+: licence "GPL-3\.0-only" is not in /m);
    expect(check.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("fails on a component without any licence", () => {
    const check = checkDoctored((b) => {
      delete component(b, "zod").licenses;
    });
    expect(check.status).toBe(1);
    expect(check.stderr).toMatch(/zod@[\d.]+: no licence declared/);
  });

  it.each([
    ["MIT OR GPL-3.0-only", 0],
    ["(GPL-2.0-only OR Apache-2.0) AND ISC", 0],
    ["MIT AND GPL-3.0-only", 1],
    ["GPL-2.0-only WITH Classpath-exception-2.0", 1],
    ["MIT OR", 1],
  ])("reads the SPDX expression %s (exit %i)", (expression, status) => {
    const check = checkDoctored((b) => {
      component(b, "undici").licenses = [{ expression }];
    });
    expect(check.status, check.stderr).toBe(status);
  });

  it("fails when a runtime dependency is missing from the SBOM (a check of nothing passes nothing)", () => {
    const check = checkDoctored((b) => {
      b.components = b.components.filter((c) => c.name !== "undici");
    });
    expect(check.status).toBe(1);
    expect(check.stderr).toMatch(/undici: a runtime dependency missing from the SBOM/);
  });
});

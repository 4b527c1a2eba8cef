// Writes the CycloneDX bill of materials of the production dependencies, from the lock file alone
// (no node_modules, no network): `node scripts/write-sbom.mjs [--out FILE]`, default
// sbom/retry-sidecar.cdx.json.
//
// `npm sbom --omit dev` run on the repository itself leaves out a production package that a
// development dependency also uses (here pino and undici, shared with fastify and
// @fastify/reply-from; npm bug https://github.com/npm/cli/issues/7909). So it runs on a staged copy
// of package.json and the lock file from which the development-only entries are removed: what is
// left is exactly what `npm ci --omit=dev` installs.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { out: { type: "string" } } });
const out = resolve(values.out ?? join(root, "sbom", "retry-sidecar.cdx.json"));

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
delete pkg.devDependencies;
delete lock.packages[""].devDependencies;
for (const [path, entry] of Object.entries(lock.packages)) {
  if (entry.dev) delete lock.packages[path];
}

// The folder's name becomes the SBOM's component name in some npm versions: use the package's.
const stage = join(mkdtempSync(join(tmpdir(), "retry-sidecar-sbom-")), pkg.name);
try {
  mkdirSync(stage);
  writeFileSync(join(stage, "package.json"), JSON.stringify(pkg, null, 2));
  writeFileSync(join(stage, "package-lock.json"), JSON.stringify(lock, null, 2));
  const sbom = spawnSync(
    "npm",
    ["sbom", "--omit", "dev", "--package-lock-only", "--sbom-format", "cyclonedx", "--offline"],
    { cwd: stage, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  if (sbom.status !== 0) {
    process.stderr.write(`npm sbom failed (exit ${sbom.status}):\n${sbom.stderr}`);
    process.exit(1);
  }
  const bom = JSON.parse(sbom.stdout);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(bom, null, 2)}\n`);
  console.log(`wrote ${out}: CycloneDX ${bom.specVersion}, ${bom.components.length} production components`);
} finally {
  rmSync(dirname(stage), { recursive: true, force: true });
}

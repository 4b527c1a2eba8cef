// Fails when a component of a CycloneDX bill of materials carries a licence outside the
// allow-list, or none, or when a runtime dependency of package.json is missing from it:
//
//   node scripts/check-licences.mjs [SBOM] [--allow FILE] [--package FILE]
//
// Defaults: sbom/retry-sidecar.cdx.json, sbom/allowed-licences.txt, package.json. Exit 0 when
// every component passes, 1 with one stderr line per problem otherwise, 2 on bad input.
// A licence is an SPDX id, a name, or an SPDX expression: `A OR B` passes when either side does,
// `A AND B` when both do, `A WITH exception` only when listed as written.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { allow: { type: "string" }, package: { type: "string" } },
});
const sbomPath = resolve(positionals[0] ?? join(root, "sbom", "retry-sidecar.cdx.json"));
const allowPath = resolve(values.allow ?? join(root, "sbom", "allowed-licences.txt"));
const packagePath = resolve(values.package ?? join(root, "package.json"));

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    process.stderr.write(`check-licences: cannot read ${path}: ${error.message}\n`);
    process.exit(2);
  }
}

const allowed = new Set(
  readFileSync(allowPath, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#")),
);

/** Whether an SPDX expression is satisfied by the allow-list (OR: either side, AND: both). */
function expressionAllowed(expression) {
  const tokens = expression.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const term = () => {
    if (tokens[i] === "(") {
      i++;
      const value = or();
      if (tokens[i++] !== ")") throw new Error(`unbalanced parentheses in "${expression}"`);
      return value;
    }
    let id = tokens[i++];
    if (id === undefined) throw new Error(`incomplete expression "${expression}"`);
    if (tokens[i] === "WITH") {
      id = `${id} WITH ${tokens[i + 1]}`;
      i += 2;
    }
    return allowed.has(id);
  };
  const and = () => {
    let value = term();
    while (tokens[i] === "AND") {
      i++;
      value = term() && value;
    }
    return value;
  };
  const or = () => {
    let value = and();
    while (tokens[i] === "OR") {
      i++;
      value = and() || value;
    }
    return value;
  };
  const value = or();
  if (i !== tokens.length) throw new Error(`unexpected "${tokens[i]}" in "${expression}"`);
  return value;
}

/** The licences of a CycloneDX component, each as an SPDX expression (an id or a name is one). */
function licencesOf(component) {
  return (component.licenses ?? []).flatMap((entry) => {
    if (entry.expression) return [entry.expression];
    const id = entry.license?.id ?? entry.license?.name;
    return id ? [id] : [];
  });
}

const bom = readJson(sbomPath);
if (bom.bomFormat !== "CycloneDX" || !Array.isArray(bom.components)) {
  process.stderr.write(`check-licences: ${sbomPath} is not a CycloneDX bill of materials\n`);
  process.exit(2);
}

const problems = [];
for (const component of bom.components) {
  const name = `${component.name}@${component.version}`;
  const licences = licencesOf(component);
  if (licences.length === 0) {
    problems.push(`${name}: no licence declared`);
    continue;
  }
  // Several entries in `licenses` all apply to the component: each must be allowed.
  for (const licence of licences) {
    let ok;
    try {
      ok = expressionAllowed(licence);
    } catch (error) {
      ok = false;
      problems.push(`${name}: ${error.message}`);
      continue;
    }
    if (!ok) problems.push(`${name}: licence "${licence}" is not in ${allowPath}`);
  }
}
// An SBOM that silently drops a runtime dependency would pass the licence check: refuse it.
const names = new Set(bom.components.map((c) => c.name));
for (const dependency of Object.keys(readJson(packagePath).dependencies ?? {})) {
  if (!names.has(dependency)) problems.push(`${dependency}: a runtime dependency missing from the SBOM`);
}

for (const problem of problems) process.stderr.write(`check-licences: ${problem}\n`);
if (problems.length > 0) process.exit(1);
console.log(
  `check-licences: ${bom.components.length} components, every licence allowed (${[...allowed].join(", ")})`,
);

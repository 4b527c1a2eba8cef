import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { k8sDir, repoRoot } from "./paths.js";

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked against the schemas, not typed here
  [field: string]: any;
};

interface Kustomization {
  kind?: string;
  resources?: string[];
  components?: string[];
  patches?: { path?: string }[];
  configMapGenerator?: {
    name: string;
    behavior?: string;
    envs?: string[];
    files?: string[];
    literals?: string[];
    options?: { labels?: Record<string, string>; disableNameSuffixHash?: boolean };
  }[];
}

/**
 * kubectl on PATH, or undefined. Every machine image of this workplace ships kubectl (with
 * kustomize v5) from an apt repository that a fresh machine does not have configured; Debian's
 * own kubernetes-client is 1.20, too old for the kustomization's `labels` field and components.
 * So CI uses the kubectl that is there (.ci/steps/deploy.sh requires it); where it is missing, the
 * checks of the rendered output are skipped with a warning while the schema checks still run on
 * the files themselves (see rawManifests).
 */
export function findKubectl(): string | undefined {
  const result = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8", timeout: 10_000 });
  return result.status === 0 ? "kubectl" : undefined;
}

export function kustomization(dir = k8sDir): Kustomization {
  return parse(readFileSync(join(dir, "kustomization.yaml"), "utf8")) as Kustomization;
}

/** `kubectl kustomize <dir>`, parsed. */
export function kubectlKustomize(kubectl: string, dir = k8sDir): Manifest[] {
  const out = execFileSync(kubectl, ["kustomize", dir], { encoding: "utf8", timeout: 30_000 });
  return parseDocs(out, `kubectl kustomize ${relative(repoRoot, dir)}`);
}

/** Every file a kustomization (and the components it lists) reads, as paths from the repository root. */
export function kustomizationInputs(dir = k8sDir): string[] {
  const k = kustomization(dir);
  const own = [
    ...(k.resources ?? []),
    ...(k.patches ?? []).flatMap((p) => (p.path ? [p.path] : [])),
    ...(k.configMapGenerator ?? []).flatMap((g) => [...(g.envs ?? []), ...(g.files ?? [])]),
  ].map((file) => relative(repoRoot, join(dir, file)));
  return [...own, ...(k.components ?? []).flatMap((c) => kustomizationInputs(join(dir, c)))];
}

/**
 * The resources of a kustomization and of its components, and the ConfigMaps it generates itself,
 * as they are in the files, without kustomize's transformations (patches, name hashes, images,
 * merges, common labels): the schema checks run on them too, kubectl or not.
 */
export function rawManifests(dir = k8sDir): Manifest[] {
  const k = kustomization(dir);
  const docs = (k.resources ?? []).flatMap((file) =>
    parseDocs(readFileSync(join(dir, file), "utf8"), relative(repoRoot, join(dir, file))),
  );
  for (const gen of k.configMapGenerator ?? []) {
    if (gen.behavior === "merge") continue;
    const data: Record<string, string> = {};
    for (const file of gen.envs ?? [])
      Object.assign(data, parseEnvFile(readFileSync(join(dir, file), "utf8")));
    for (const file of gen.files ?? []) data[basename(file)] = readFileSync(join(dir, file), "utf8");
    Object.assign(data, parseEnvFile((gen.literals ?? []).join("\n")));
    docs.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: gen.name, ...(gen.options?.labels ? { labels: gen.options.labels } : {}) },
      data,
    });
  }
  return [...docs, ...(k.components ?? []).flatMap((c) => rawManifests(join(dir, c)))];
}

/** kustomize's `envs` format: KEY=VALUE lines, # comments and blank lines ignored. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const eq = trimmed.indexOf("=");
    if (eq <= 0) throw new Error(`not KEY=VALUE: ${line}`);
    env[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return env;
}

function parseDocs(text: string, source: string): Manifest[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value = doc.toJS() as Manifest | null;
    return value ? [value] : [];
  });
}

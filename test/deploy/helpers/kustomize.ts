import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { k8sDir } from "./paths.js";

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked against the schemas, not typed here
  [field: string]: any;
};

interface Kustomization {
  resources?: string[];
  configMapGenerator?: {
    name: string;
    envs?: string[];
    files?: string[];
    options?: { labels?: Record<string, string>; disableNameSuffixHash?: boolean };
  }[];
}

/**
 * kubectl on PATH, or undefined. Every machine image of this workplace ships kubectl (with
 * kustomize v5) from an apt repository that a fresh machine does not have configured; Debian's
 * own kubernetes-client is 1.20, too old for the kustomization's `labels` field. So CI uses the
 * kubectl that is there and, where it is missing, the build check is skipped (with a warning)
 * while the schema checks still run on the files themselves (see loadManifests).
 */
export function findKubectl(): string | undefined {
  const result = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8", timeout: 10_000 });
  return result.status === 0 ? "kubectl" : undefined;
}

export function kustomization(): Kustomization {
  return parse(readFileSync(join(k8sDir, "kustomization.yaml"), "utf8")) as Kustomization;
}

/** `kubectl kustomize k8s/`, parsed. */
export function kubectlKustomize(kubectl: string): Manifest[] {
  const out = execFileSync(kubectl, ["kustomize", k8sDir], { encoding: "utf8", timeout: 30_000 });
  return parseDocs(out, "kubectl kustomize k8s/");
}

/**
 * The resources and generated ConfigMaps as they are in the files, without kustomize's
 * transformations (name hashes, images, common labels). Used where kubectl is missing, and to
 * check the files themselves.
 */
export function rawManifests(): Manifest[] {
  const k = kustomization();
  const docs = (k.resources ?? []).flatMap((file) =>
    parseDocs(readFileSync(join(k8sDir, file), "utf8"), file),
  );
  for (const gen of k.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const file of gen.envs ?? [])
      Object.assign(data, parseEnvFile(readFileSync(join(k8sDir, file), "utf8")));
    for (const file of gen.files ?? []) data[basename(file)] = readFileSync(join(k8sDir, file), "utf8");
    docs.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: gen.name, ...(gen.options?.labels ? { labels: gen.options.labels } : {}) },
      data,
    });
  }
  return docs;
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

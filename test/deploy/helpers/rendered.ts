import type { Manifest } from "./kustomize.js";

export const findIn = (manifests: Manifest[], kind: string, name?: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && (!name || m.metadata.name.startsWith(name)));
  if (!found) throw new Error(`no ${kind} ${name ?? ""} in the kustomization`);
  return found;
};

/** The parts of one rendered kustomization (one application adopting the component) that the checks look at. */
export function partsOf(manifests: Manifest[]) {
  const deployment = findIn(manifests, "Deployment");
  const podSpec = deployment.spec.template.spec;
  const sidecar = podSpec.initContainers?.find((c: { name: string }) => c.name === "retry-sidecar");
  const config = findIn(manifests, "ConfigMap", "retry-sidecar-config-");
  return {
    deployment,
    podSpec,
    sidecar,
    // The component adds the sidecar to initContainers, so the first container stays the app's.
    app: podSpec.containers[0],
    settings: config.data as Record<string, string>,
    configName: config.metadata.name,
    podMonitor: findIn(manifests, "PodMonitor"),
    portNamed: (name: string) =>
      sidecar?.ports.find((p: { name: string }) => p.name === name)?.containerPort as number | undefined,
  };
}

/** Kubernetes quantities used here: 50m, 96Mi, 1Gi, 2. */
export function quantity(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(value);
  if (!match) throw new Error(`unexpected quantity ${value}`);
  const scale = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] ?? ""] ?? 1;
  return Number(match[1]) * scale;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const [, heading] of markdown.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    anchors.add(
      (heading ?? "")
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-"),
    );
  }
  return anchors;
}

import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { imageUid } from "./helpers/dockerfile.js";
import {
  findKubectl,
  kubectlKustomize,
  kustomizationInputs,
  type Manifest,
  rawManifests,
} from "./helpers/kustomize.js";
import { alertRules, dashboard } from "./helpers/observability.js";
import { appOn8080Dir, existingAppDir, k8sDir, repoRoot } from "./helpers/paths.js";
import { anchorsOf, findIn, partsOf, quantity } from "./helpers/rendered.js";
import { modelModule, unknownFieldErrors } from "./helpers/strict-fields.js";

const kubectl = findKubectl();
if (!kubectl) {
  console.warn(
    "kubectl not found: the checks of `kubectl kustomize` output are skipped; the schema checks run on the files",
  );
}
const kustomizations = [k8sDir, existingAppDir, appOn8080Dir].map((dir) => relative(repoRoot, dir));
/** What `kubectl apply -k` would send, per kustomization (nothing where kubectl is missing). */
const rendered = new Map(
  kustomizations.map((dir) => [dir, kubectl ? kubectlKustomize(kubectl, join(repoRoot, dir)) : []]),
);
const built = rendered.get("k8s") ?? [];
const raw = kustomizations.flatMap((dir) =>
  rawManifests(join(repoRoot, dir)).map((m) => ({ dir, manifest: m })),
);

/** kubernetes-models (Kubernetes 1.33 schemas) or @kubernetes-models/prometheus-operator (CRDs v0.65). */
async function modelOf(manifest: Manifest) {
  const exports = (await import(modelModule(manifest))) as Record<
    string,
    new (
      data: unknown,
    ) => { validate(): void }
  >;
  const Model = exports[manifest.kind];
  if (!Model) throw new Error(`no model for ${manifest.apiVersion} ${manifest.kind}`);
  return Model;
}

describe("k8s/ kustomization", () => {
  it.skipIf(!kubectl)("builds with `kubectl kustomize k8s/`", () => {
    expect(built.map((m) => m.kind).sort()).toEqual(
      ["ConfigMap", "ConfigMap", "Deployment", "PodMonitor", "PrometheusRule", "Service", "Service"].sort(),
    );
  });

  it.skipIf(!kubectl)(
    "sends to a headless Service over the billing pods: UPSTREAM_URL names it, with the pods' port",
    () => {
      const { settings } = partsOf(built);
      const url = new URL(settings.UPSTREAM_URL as string);
      const headless = built.find((m) => m.kind === "Service" && m.spec.clusterIP === "None");
      if (headless === undefined) throw new Error("no Service with clusterIP: None");
      const { name, namespace } = headless.metadata as { name: string; namespace: string };
      expect(url.hostname).toBe(`${name}.${namespace}.svc.cluster.local`);
      // No kube-proxy translates a headless Service's port: the sidecar connects to pod:port.
      const ports = headless.spec.ports as { port: number; targetPort: number }[];
      expect(ports.map((p) => [p.port, p.targetPort])).toEqual([[Number(url.port), Number(url.port)]]);
      expect(headless.spec.selector).toEqual({ "app.kubernetes.io/name": "billing" });
    },
  );

  it.each(kustomizations)("%s: every file it or its components name exists", (dir) => {
    const inputs = kustomizationInputs(join(repoRoot, dir));
    expect(inputs.length).toBeGreaterThan(1);
    for (const file of inputs) expect(existsSync(join(repoRoot, file)), file).toBe(true);
  });

  const all = [
    ...[...rendered].flatMap(([dir, manifests]) => manifests.map((m) => [`built ${dir}`, m] as const)),
    ...raw.map(({ dir, manifest }) => [`file ${dir}`, manifest] as const),
  ];
  it.each(all.map(([source, m]) => [`${source}: ${m.kind} ${m.metadata.name}`, m] as const))(
    "%s validates against its schema",
    async (_name, manifest) => {
      const Model = await modelOf(manifest);
      expect(() => new Model(manifest).validate()).not.toThrow();
    },
  );

  it("has no field the API does not know (kubectl apply validates fields strictly)", () => {
    expect(unknownFieldErrors([...[...rendered.values()].flat(), ...raw.map((r) => r.manifest)])).toEqual([]);
  });

  it("would catch a misspelt field (the check is not vacuous)", () => {
    const misspelt = structuredClone(
      findIn(
        raw.map((r) => r.manifest),
        "Deployment",
      ),
    );
    misspelt.spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem = true;
    const errors = unknownFieldErrors([misspelt]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/readOnlyRootFileSystem/);
  });
});

describe.skipIf(!kubectl).each(kustomizations)("the sidecar the component adds, in %s", (dir) => {
  const parts = () => partsOf(rendered.get(dir) ?? []);

  it("runs retry-sidecar as a native sidecar: an init container with restartPolicy Always", () => {
    const { sidecar, podSpec } = parts();
    expect(sidecar, "initContainers[retry-sidecar]").toBeDefined();
    expect(sidecar.restartPolicy).toBe("Always");
    expect(podSpec.containers.map((c: { name: string }) => c.name)).not.toContain("retry-sidecar");
  });

  it("runs the image the kustomization names, not the placeholder", () => {
    expect(parts().sidecar.image).toMatch(/^[a-z0-9.-]+\/.+\/retry-sidecar:\d+\.\d+\.\d+$/);
  });

  it("points the app's BILLING_URL at the sidecar on loopback", () => {
    const { app, settings, portNamed } = parts();
    const billing = app.env.filter((e: { name: string }) => e.name === "BILLING_URL");
    expect(billing).toEqual([{ name: "BILLING_URL", value: `http://127.0.0.1:${settings.PORT}` }]);
    expect(settings.LISTEN_HOST).toBe("127.0.0.1");
    expect(portNamed("sidecar-proxy")).toBe(Number(settings.PORT));
  });

  it("takes the sidecar's settings from the generated ConfigMap, with the kustomization's upstream", () => {
    const { sidecar, settings, configName } = parts();
    expect(sidecar.envFrom).toEqual([{ configMapRef: { name: configName } }]);
    expect(configName).toMatch(/^retry-sidecar-config-[a-z0-9]{10}$/);
    expect(settings.UPSTREAM_URL).toMatch(/^https?:\/\/[a-z0-9.-]+\.svc\.cluster\.local:\d+$/);
  });

  it("probes the admin port: startup and liveness on /healthz, readiness on /readyz", () => {
    const { sidecar, settings, portNamed } = parts();
    expect(portNamed("sidecar-admin")).toBe(Number(settings.ADMIN_PORT ?? 9464));
    expect(sidecar.startupProbe.httpGet).toEqual({ path: "/healthz", port: "sidecar-admin" });
    expect(sidecar.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "sidecar-admin" });
    expect(sidecar.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "sidecar-admin" });
    expect(settings.ADMIN_HOST).toBe("0.0.0.0");
  });

  it("requests and limits resources sized for the sidecar's measured footprint", () => {
    const { sidecar, app } = parts();
    const { requests, limits } = sidecar.resources;
    expect(quantity(requests.cpu)).toBeGreaterThan(0);
    // The peak RSS goal of `npm run bench` (docs/performance.md) is 80 MB: the request covers
    // it, the limit leaves headroom above what was measured.
    expect(quantity(requests.memory)).toBeGreaterThanOrEqual(80 * 1000 ** 2);
    expect(quantity(limits.memory)).toBeGreaterThan(quantity(requests.memory));
    expect(app.resources.requests).toBeDefined();
  });

  it("runs every container non-root, read-only, unprivileged, without capabilities, under RuntimeDefault seccomp", () => {
    const { podSpec, sidecar } = parts();
    expect(podSpec.securityContext.runAsNonRoot).toBe(true);
    expect(podSpec.securityContext.seccompProfile).toEqual({ type: "RuntimeDefault" });
    expect(podSpec.automountServiceAccountToken).toBe(false);
    for (const container of [...podSpec.initContainers, ...podSpec.containers]) {
      const sc = container.securityContext;
      expect(sc.runAsNonRoot, container.name).toBe(true);
      expect(Number.isInteger(sc.runAsUser) && sc.runAsUser > 0, container.name).toBe(true);
      expect(sc.readOnlyRootFilesystem, container.name).toBe(true);
      expect(sc.allowPrivilegeEscalation, container.name).toBe(false);
      expect(sc.privileged ?? false, container.name).toBe(false);
      expect(sc.capabilities.drop, container.name).toEqual(["ALL"]);
      expect(sc.capabilities.add ?? [], container.name).toEqual([]);
      expect(sc.seccompProfile ?? podSpec.securityContext.seccompProfile).toEqual({ type: "RuntimeDefault" });
    }
    // The same uid as the image's USER, so files in the image are what the process expects.
    expect(sidecar.securityContext.runAsUser).toBe(imageUid());
  });

  it("gives the pod a termination grace period longer than the sidecar's SHUTDOWN_GRACE_MS", () => {
    const { podSpec, settings } = parts();
    const graceMs = Number(settings.SHUTDOWN_GRACE_MS ?? 15_000);
    // 30 s is Kubernetes' default when the Deployment does not set it.
    expect((podSpec.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(graceMs);
  });

  it("has a PodMonitor named after the app that selects its pods and scrapes the sidecar's admin port", () => {
    const { podMonitor, deployment } = parts();
    expect(podMonitor.metadata.name).toBe(`retry-sidecar-${deployment.metadata.name}`);
    // The Deployment's own selector: its pods and no other application's.
    expect(podMonitor.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    const podLabels = deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(podMonitor.spec.selector.matchLabels)) {
      expect(podLabels[key], key).toBe(value);
    }
    expect(podLabels["retry-sidecar/inject"]).toBe("true");
    expect(podMonitor.spec.podMetricsEndpoints).toEqual([
      expect.objectContaining({ port: "sidecar-admin", path: "/metrics" }),
    ]);
    // One job name for every application's sidecars: the alerts and the dashboard match it.
    expect(podMonitor.spec.podMetricsEndpoints[0].relabelings).toEqual([
      { action: "replace", targetLabel: "job", replacement: "retry-sidecar" },
    ]);
  });

  it("keeps the sidecar's ports off the app's own container ports", () => {
    const { podSpec, settings } = parts();
    const appPorts = podSpec.containers.flatMap((c: { ports?: { containerPort: number }[] }) =>
      (c.ports ?? []).map((p) => p.containerPort),
    );
    expect(appPorts.length).toBeGreaterThan(0);
    expect(appPorts).not.toContain(Number(settings.PORT));
    expect(appPorts).not.toContain(Number(settings.ADMIN_PORT));
    expect(settings.PORT).not.toBe(settings.ADMIN_PORT);
  });

  it("is the component's one container spec: the same in every kustomization but for image, ConfigMap and port numbers", () => {
    const strip = (container: { ports: { name: string }[] }) => ({
      ...container,
      image: "",
      envFrom: [],
      ports: container.ports.map((p) => ({ ...p, containerPort: 0 })),
    });
    const others = kustomizations.filter((d) => d !== dir);
    for (const other of others) {
      expect(strip(parts().sidecar)).toEqual(strip(partsOf(rendered.get(other) ?? []).sidecar));
    }
  });
});

describe.skipIf(!kubectl)("k8s/examples/existing-app: a plain Deployment adopting the component", () => {
  const file = findIn(rawManifests(existingAppDir), "Deployment");
  const out = () => partsOf(rendered.get("k8s/examples/existing-app") ?? []);

  it("was a Deployment without the sidecar, calling billing directly", () => {
    expect(file.spec.template.spec.initContainers).toBeUndefined();
    expect(file.metadata.labels?.["retry-sidecar/inject"]).toBe("true");
    expect(file.spec.template.spec.containers[0].env).toEqual([
      { name: "BILLING_URL", value: expect.stringMatching(/^http:\/\/billing\./) },
    ]);
  });

  it("sends to the headless Service over the billing pods it used to call, and leaves the app otherwise as it was", () => {
    const { app, settings } = out();
    const before = new URL(file.spec.template.spec.containers[0].env[0].value);
    const upstream = new URL(settings.UPSTREAM_URL as string);
    // billing.billing.svc... (ClusterIP) became billing-headless.billing.svc... (k8s/billing-headless-service.yaml).
    const headless = findIn(rawManifests(k8sDir), "Service", "billing-headless");
    const { name, namespace } = headless.metadata as { name: string; namespace: string };
    expect(upstream.hostname).toBe(`${name}.${namespace}.svc.cluster.local`);
    expect(before.hostname).toBe(`billing.${namespace}.svc.cluster.local`);
    expect(upstream.port).toBe(String(headless.spec.ports[0].port));
    const { env: _before, ...restBefore } = file.spec.template.spec.containers[0];
    const { env: _after, ...restAfter } = app;
    expect(restAfter).toEqual(restBefore);
  });

  it("renders exactly the Deployment, the settings ConfigMap and the PodMonitor", () => {
    const kinds = (rendered.get("k8s/examples/existing-app") ?? []).map((m) => m.kind).sort();
    expect(kinds).toEqual(["ConfigMap", "Deployment", "PodMonitor"]);
  });
});

describe.skipIf(!kubectl)("the registration Deployment", () => {
  it("carries prometheus.io/* annotations for Prometheus set-ups without the Operator", () => {
    const { deployment, portNamed } = partsOf(built);
    const annotations = deployment.spec.template.metadata.annotations;
    expect(annotations["prometheus.io/scrape"]).toBe("true");
    expect(annotations["prometheus.io/port"]).toBe(String(portNamed("sidecar-admin")));
    expect(annotations["prometheus.io/path"]).toBe("/metrics");
  });
});

describe("Prometheus Operator resources", () => {
  it("has the seven alerts, each with a severity, a summary, a description and an absolute runbook link that exists", () => {
    const rules = alertRules();
    expect(rules.map((r) => r.alert).sort()).toEqual(
      [
        "RetrySidecarCircuitOpen",
        "RetrySidecarDown",
        "RetrySidecarEndpointEjections",
        "RetrySidecarHighRetryRatio",
        "RetrySidecarNoUpstreamEndpoints",
        "RetrySidecarRetriesExhausted",
        "RetrySidecarRetryBudgetExhausted",
      ].sort(),
    );
    for (const rule of rules) {
      expect(["warning", "critical"], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      // The placeholder address of k8s/runbooks-url.yaml, then the anchor of docs/kubernetes.md.
      const runbook = /^https:\/\/[a-z0-9.-]+\/[^#\s]*\/(docs\/kubernetes\.md)#([a-z0-9-]+)$/.exec(
        rule.annotations?.runbook_url ?? "",
      );
      expect(runbook, `${rule.alert} runbook_url`).not.toBeNull();
      const [, file, anchor] = runbook as RegExpExecArray;
      const markdown = readFileSync(join(repoRoot, file as string), "utf8");
      expect(anchorsOf(markdown), `${file} has no heading for #${anchor}`).toContain(anchor);
    }
  });
});

describe("the Grafana dashboard ConfigMap", () => {
  it("is labelled for Grafana's dashboard sidecar and holds the dashboard JSON", () => {
    const configMap = findIn(
      kubectl ? built : raw.map((r) => r.manifest),
      "ConfigMap",
      "retry-sidecar-dashboard",
    );
    expect(configMap.metadata.labels?.grafana_dashboard).toBe("1");
    const json = configMap.data["retry-sidecar-dashboard.json"];
    expect(JSON.parse(json)).toEqual(dashboard());
  });

  it("shows what an operator looks for, every panel on the selectable Prometheus data source", () => {
    const board = dashboard();
    const titles = board.panels.map((p) => p.title);
    for (const title of [
      "Requests by status code",
      "Retries by reason",
      "Success after retry vs exhausted",
      "Retries skipped by reason",
      "Circuit state per route",
      "Latency p50 / p99",
      "Upstream endpoints by state",
      "Endpoint ejections and DNS resolutions",
    ]) {
      expect(titles).toContain(title);
    }
    expect(new Set(board.panels.map((p) => p.id)).size).toBe(board.panels.length);
    // Grafana's own variable syntax, not a template literal.
    const datasourceVariable = ["$", "{datasource}"].join("");
    for (const panel of board.panels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: datasourceVariable });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
    const latency = board.panels.find((p) => p.title === "Latency p50 / p99");
    expect(latency?.targets?.map((t) => t.expr.match(/histogram_quantile\((0\.\d+)/)?.[1])).toEqual([
      "0.5",
      "0.99",
    ]);
  });

  it("lays the panels out on the 24-column grid without overlaps", () => {
    const panels = dashboard().panels;
    for (const p of panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    for (const [i, a] of panels.entries()) {
      for (const b of panels.slice(i + 1)) {
        const overlap =
          a.gridPos.x < b.gridPos.x + b.gridPos.w &&
          b.gridPos.x < a.gridPos.x + a.gridPos.w &&
          a.gridPos.y < b.gridPos.y + b.gridPos.h &&
          b.gridPos.y < a.gridPos.y + a.gridPos.h;
        expect(overlap, `${a.title} / ${b.title}`).toBe(false);
      }
    }
  });
});

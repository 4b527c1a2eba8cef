import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { findKubectl, kubectlKustomize, type Manifest } from "./helpers/kustomize.js";
import { alertRules } from "./helpers/observability.js";
import { appOn8080Dir, existingAppDir, k8sDir, repoRoot } from "./helpers/paths.js";
import { findIn, partsOf } from "./helpers/rendered.js";

// What a platform team meets when several applications adopt the component: two applications in
// one namespace (each its own kustomization, applied side by side, one of them listening on 8080
// itself), the sidecar's ports moved in the one place they are set, the runbook links set once,
// and the sidecar's sizes as docs/kubernetes.md states them.

const kubectl = findKubectl();
const render = (dir: string) => (kubectl ? kubectlKustomize(kubectl, dir) : []);

/** The port numbers an application's rendering must agree on, from each place that carries one. */
function portsOf(manifests: Manifest[]) {
  const { app, settings, portNamed, podMonitor, sidecar } = partsOf(manifests);
  const billing = app.env.find((e: { name: string }) => e.name === "BILLING_URL")?.value as string;
  return {
    settings: { proxy: Number(settings.PORT), admin: Number(settings.ADMIN_PORT) },
    containerPorts: { proxy: portNamed("sidecar-proxy"), admin: portNamed("sidecar-admin") },
    billingUrl: billing,
    probePorts: [sidecar.startupProbe, sidecar.livenessProbe, sidecar.readinessProbe].map(
      (probe: { httpGet: { port: string } }) => probe.httpGet.port,
    ),
    podMonitorPort: podMonitor.spec.podMetricsEndpoints[0].port as string,
  };
}

describe.skipIf(!kubectl)("two applications adopting the component in one namespace", () => {
  const checkout = render(existingAppDir); // listens on 8000; the sidecar keeps 8080 / 9464
  const invoices = render(appOn8080Dir); // Spring Boot on 8080; the sidecar moved to 18080 / 19464
  const apps = [
    ["checkout", checkout],
    ["invoices", invoices],
  ] as const;

  it("apply side by side: no two objects share a kind and name unless they are identical", () => {
    const seen = new Map<string, Manifest>();
    for (const [, manifests] of apps) {
      for (const m of manifests) {
        const key = `${m.kind}/${m.metadata.name}`;
        const earlier = seen.get(key);
        if (earlier) expect(m, `${key} differs between the two applications`).toEqual(earlier);
        seen.set(key, m);
      }
    }
  });

  it("get one PodMonitor each, with distinct names, each selecting only its own application's pods", () => {
    const monitors = apps.map(([, manifests]) => findIn(manifests, "PodMonitor"));
    expect(new Set(monitors.map((m) => m.metadata.name)).size).toBe(2);
    for (const [name, manifests] of apps) {
      const { podMonitor } = partsOf(manifests);
      expect(podMonitor.metadata.name).toBe(`retry-sidecar-${name}`);
      for (const [, other] of apps.filter(([n]) => n !== name)) {
        const otherPods = partsOf(other).deployment.spec.template.metadata.labels as Record<string, string>;
        const selectsOther = Object.entries(podMonitor.spec.selector.matchLabels).every(
          ([key, value]) => otherPods[key] === value,
        );
        expect(selectsOther, `${podMonitor.metadata.name} would also scrape the other app's pods`).toBe(
          false,
        );
      }
    }
  });

  it.each(apps)(
    "%s: BILLING_URL, containerPorts, probes and PodMonitor follow its PORT and ADMIN_PORT",
    (_n, m) => {
      const ports = portsOf(m);
      expect(ports.billingUrl).toBe(`http://127.0.0.1:${ports.settings.proxy}`);
      expect(ports.containerPorts).toEqual(ports.settings);
      // By name, so they follow the containerPort the name stands for.
      expect(ports.probePorts).toEqual(["sidecar-admin", "sidecar-admin", "sidecar-admin"]);
      expect(ports.podMonitorPort).toBe("sidecar-admin");
    },
  );

  it("the app on 8080 keeps its port; the sidecar's proxy and admin ports move off it", () => {
    const { app, podSpec, settings } = partsOf(invoices);
    expect(app.ports).toEqual([expect.objectContaining({ name: "http", containerPort: 8080 })]);
    expect(app.readinessProbe.httpGet.port).toBe("http");
    const taken = podSpec.containers.flatMap((c: { ports?: { containerPort: number }[] }) =>
      (c.ports ?? []).map((p) => p.containerPort),
    );
    for (const port of [settings.PORT, settings.ADMIN_PORT]) expect(taken).not.toContain(Number(port));
    // Every containerPort of the pod, the sidecar's included, is distinct.
    const all = [
      ...taken,
      ...podSpec.initContainers.flatMap((c: { ports: { containerPort: number }[] }) =>
        c.ports.map((p) => p.containerPort),
      ),
    ];
    expect(new Set(all).size).toBe(all.length);
    expect(settings.PORT).not.toBe("8080");
  });
});

describe.skipIf(!kubectl)("runbook links", () => {
  const source = parse(readFileSync(join(k8sDir, "runbooks-url.yaml"), "utf8")) as {
    data: { RUNBOOKS_URL: string };
  };
  const base = source.data.RUNBOOKS_URL;

  it("are set once, in k8s/runbooks-url.yaml, as an absolute address of docs/kubernetes.md", () => {
    expect(base).toMatch(/^https:\/\/[a-z0-9.-]+\/.+\/docs\/kubernetes\.md$/);
    // The file's own links carry the same placeholder, so the file alone is consistent too.
    for (const rule of alertRules())
      expect(rule.annotations?.runbook_url?.split("#")[0], rule.alert).toBe(base);
  });

  it("follow the address set there in what kustomize renders", () => {
    const rule = findIn(render(k8sDir), "PrometheusRule");
    const urls = (rule.spec.groups as { rules: { alert: string; annotations: { runbook_url: string } }[] }[])
      .flatMap((g) => g.rules)
      .map((r) => r.annotations.runbook_url);
    expect(urls).toHaveLength(alertRules().length);
    for (const url of urls) expect(url).toMatch(new RegExp(`^${base.replace(/[.]/g, "\\.")}#[a-z0-9-]+$`));
  });
});

describe.skipIf(!kubectl)("the sidecar's sizes", () => {
  const { sidecar } = partsOf(render(existingAppDir));
  const { requests, limits } = sidecar.resources as {
    requests: { cpu: string; memory: string };
    limits: { memory: string; cpu?: string };
  };

  it('are what docs/kubernetes.md "Resources" states', () => {
    const doc = readFileSync(join(repoRoot, "docs", "kubernetes.md"), "utf8");
    const line = doc.split("\n").find((l) => l.startsWith("- **Resources.**")) ?? "";
    const stated = /requests `cpu: (\S+)` and `memory: (\S+)` and limits `memory: (\S+)`/.exec(line);
    expect(
      stated,
      'docs/kubernetes.md: "- **Resources.** ... requests `cpu: X` and `memory: Y` and limits `memory: Z`"',
    ).not.toBeNull();
    expect(stated?.slice(1)).toEqual([requests.cpu, requests.memory, limits.memory]);
    expect(limits.cpu).toBeUndefined();
  });

  it("the dashboard, the alerts, the runbooks and the README name no other memory size", () => {
    const texts = {
      "k8s/retry-sidecar-dashboard.json": readFileSync(join(k8sDir, "retry-sidecar-dashboard.json"), "utf8"),
      "k8s/prometheusrule.yaml": readFileSync(join(k8sDir, "prometheusrule.yaml"), "utf8"),
      "README.md": readFileSync(join(repoRoot, "README.md"), "utf8"),
      "docs/kubernetes.md (runbooks)": readFileSync(join(repoRoot, "docs", "kubernetes.md"), "utf8").split(
        "## Runbooks",
      )[1],
    };
    for (const [where, text] of Object.entries(texts)) {
      for (const [size] of (text ?? "").matchAll(/\b\d+(?:Mi|Gi|MiB|GiB)\b/g)) {
        expect([requests.memory, limits.memory], `${where} names ${size}`).toContain(size);
      }
    }
  });
});

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { doorConfig, haproxyInstalled } from "../../bench/fleet/door-haproxy.js";
import { allScenarios, DOOR_VARIANT, doorFor } from "../../bench/fleet/scenarios.js";
import { findKubectl, kubectlKustomize, type Manifest, rawManifests } from "./helpers/kustomize.js";
import { billingDoorDir, k8sDir } from "./helpers/paths.js";
import { findIn } from "./helpers/rendered.js";
import { modelModule, unknownFieldErrors } from "./helpers/strict-fields.js";

// k8s/examples/billing-door: billing's side of the overload recipe (docs/overload.md), HAProxy at
// billing's door in its pod. Its configuration is the one the fleet check measured, for a pod.

const cfgFile = join(billingDoorDir, "haproxy.cfg");
const withoutComments = (text: string) =>
  text
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .join("\n");
const kubectl = findKubectl();

describe("k8s/examples/billing-door", () => {
  it("is the door the fleet check measured: billing's port on every address, billing behind it in the pod", () => {
    const overloadDrop = allScenarios(70, 1).find((s) => s.name === "overload-drop");
    const options = overloadDrop && doorFor(DOOR_VARIANT, overloadDrop.model);
    if (options === undefined) throw new Error("no door for overload-drop");
    const expected = doorConfig(8080, { host: "127.0.0.1", port: 8081 }, options, "");
    expect(withoutComments(readFileSync(cfgFile, "utf8"))).toBe(expected);
  });

  it.skipIf(!haproxyInstalled())("is a configuration HAProxy accepts (haproxy -c)", () => {
    const check = spawnSync("haproxy", ["-c", "-f", cfgFile], { encoding: "utf8", timeout: 10_000 });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it("puts the door on the port the billing Service sends to, and billing on the one HAProxy calls", () => {
    const service = findIn(rawManifests(k8sDir), "Service", "billing-headless");
    const servicePort = service.spec.ports[0].targetPort as number;
    const pod = findIn(rawManifests(billingDoorDir), "Deployment").spec.template.spec;
    const door = pod.containers.find((c: { name: string }) => c.name === "door");
    const billing = pod.containers.find((c: { name: string }) => c.name === "billing");
    expect(door.ports[0].containerPort).toBe(servicePort);
    expect(billing.ports[0].containerPort).toBe(8081);
    expect(billing.env).toContainEqual({ name: "PORT", value: "8081" });
  });

  it.skipIf(!kubectl)("renders: the door mounts its generated configuration", () => {
    const rendered = kubectlKustomize(kubectl as string, billingDoorDir);
    const config = findIn(rendered, "ConfigMap");
    expect(config.data["haproxy.cfg"]).toBe(readFileSync(cfgFile, "utf8"));
    const pod = findIn(rendered, "Deployment").spec.template.spec;
    expect(pod.volumes[0].configMap.name).toBe(config.metadata.name);
    const door = pod.containers.find((c: { name: string }) => c.name === "door");
    expect(door.volumeMounts[0]).toMatchObject({ mountPath: "/usr/local/etc/haproxy", readOnly: true });
  });

  const manifests: Manifest[] = [
    ...rawManifests(billingDoorDir),
    ...(kubectl ? kubectlKustomize(kubectl, billingDoorDir) : []),
  ];
  it.each(manifests.map((m) => [`${m.kind} ${m.metadata.name}`, m] as const))(
    "%s validates against its schema, with no field the API does not know",
    async (_name, manifest) => {
      const Model = (await import(modelModule(manifest)))[manifest.kind] as new (
        data: unknown,
      ) => { validate(): void };
      expect(() => new Model(manifest).validate()).not.toThrow();
      expect(unknownFieldErrors([manifest])).toEqual([]);
    },
  );
});

import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (test/deploy/helpers is three levels down). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const k8sDir = join(repoRoot, "k8s");
/** The kustomize Component that adds the sidecar to a Deployment. */
export const componentDir = join(k8sDir, "components", "retry-sidecar");
/** A plain Deployment adopting the sidecar through the component. */
export const existingAppDir = join(k8sDir, "examples", "existing-app");
export const distMain = join(repoRoot, "dist", "main.js");

/** Fails with a hint instead of a confusing spawn error when `npm run build` has not run. */
export function requireBuild(): string {
  if (!existsSync(distMain)) {
    throw new Error(`${distMain} is missing: run \`npm run build\` before \`npm run test:deploy\``);
  }
  return distMain;
}
/** An application that listens on 8080 itself adopting the component, its sidecar's ports moved. */
export const appOn8080Dir = join(k8sDir, "examples", "app-on-8080");
/** Billing's side of the overload recipe: HAProxy at its door, in its pod. */
export const billingDoorDir = join(k8sDir, "examples", "billing-door");

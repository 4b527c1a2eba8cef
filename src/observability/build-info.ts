import { readFileSync } from "node:fs";

/**
 * What retry_sidecar_build_info reports: the package's version (package.json sits two levels
 * above this file both in src/ and in the image's dist/) and the Node.js running it.
 */
export const buildInfo = {
  version: readVersion(),
  node: process.versions.node,
};

function readVersion(): string {
  try {
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown"; // a copy without its package.json still serves
  }
}

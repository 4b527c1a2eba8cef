import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The version of package.json, found by walking up from this module: dist/runtime/ in a clone
 * and in the image (/app/package.json), src/runtime/ under tsx, a build cache under the tests.
 */
export function packageVersion(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === "retry-sidecar" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // no package.json here (or not ours): look one level up
    }
    const parent = dirname(dir);
    if (parent === dir) return "unknown";
    dir = parent;
  }
}

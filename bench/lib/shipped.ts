import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * How the image starts the sidecar, read from the Dockerfile so that the bench measures what
 * ships: the node flags between `node` and `dist/main.js` in the final ENTRYPOINT, and the
 * environment the final stage sets with ENV (e.g. MALLOC_ARENA_MAX).
 */
export function shippedSettings(repoDir: string): { nodeArgs: string[]; env: Record<string, string> } {
  const file = join(repoDir, "Dockerfile");
  if (!existsSync(file)) return { nodeArgs: [], env: {} };
  const text = readFileSync(file, "utf8");
  const finalStage = text.slice(text.lastIndexOf("\nFROM "));
  const entrypoints = [...finalStage.matchAll(/^ENTRYPOINT\s+(\[.*\])\s*$/gm)];
  const command = JSON.parse(entrypoints.at(-1)?.[1] ?? "[]") as string[];
  const script = command.indexOf("dist/main.js");
  const nodeArgs = script > 1 ? command.slice(1, script) : [];
  const env: Record<string, string> = {};
  for (const line of finalStage.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of (line[1] ?? "").trim().split(/\s+/)) {
      const at = pair.indexOf("=");
      if (at > 0) env[pair.slice(0, at)] = pair.slice(at + 1).replace(/^"(.*)"$/, "$1");
    }
  }
  delete env.NODE_ENV; // the bench sets it for every Node row
  return { nodeArgs, env };
}

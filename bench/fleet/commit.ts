import { execFileSync } from "node:child_process";

/** The short commit the sidecar was built from, `+changes` when src/ differs from it. */
export function commitOf(repoDir: string): string {
  try {
    const hash = execFileSync("git", ["-C", repoDir, "rev-parse", "--short", "HEAD"]).toString().trim();
    const dirty = execFileSync("git", ["-C", repoDir, "status", "--porcelain", "src"]).toString().trim();
    return dirty ? `${hash}+changes` : hash;
  } catch {
    return "unknown";
  }
}

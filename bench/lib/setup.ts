import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const TOOLS = ["wrk", "nginx", "haproxy"] as const;
/** dnsmasq for the three-endpoint row; Debian ships it in dnsmasq-base. Without it that row is skipped. */
const DNSMASQ = { binary: "/usr/sbin/dnsmasq", pkg: "dnsmasq-base" } as const;

/** A command on the PATH. */
export function has(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/**
 * wrk, nginx and HAProxy from Debian, and dnsmasq-base when `dnsmasq` (the sidecar-3ep row wants
 * it); installed when missing and we are root (as in CI). A missing dnsmasq is not an error here:
 * the caller skips its row with a warning.
 */
export function ensureTools(options: { dnsmasq: boolean }): void {
  const missing: string[] = TOOLS.filter((tool) => !has(tool) && !existsSync(`/usr/sbin/${tool}`));
  const optional = options.dnsmasq && !existsSync(DNSMASQ.binary) ? [DNSMASQ.pkg] : [];
  if (missing.length === 0 && optional.length === 0) return;
  if (process.getuid?.() !== 0 || !has("apt-get")) {
    if (missing.length === 0) return;
    throw new Error(`missing ${missing.join(", ")}: install with apt-get install -y wrk nginx haproxy`);
  }
  const packages = [...missing, ...optional];
  process.stderr.write(`bench: installing ${packages.join(" ")} from Debian\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages], {
      stdio: "inherit",
      env,
    });
  } catch (error) {
    if (missing.length > 0) throw error;
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when src/ is newer. False when there is no sidecar to build yet. */
export function ensureSidecarBuilt(repoDir: string): boolean {
  if (!existsSync(join(repoDir, "src", "main.ts"))) return false;
  const main = join(repoDir, "dist", "main.js");
  if (!existsSync(main) || statSync(main).mtimeMs < newestMtime(join(repoDir, "src"))) {
    process.stderr.write("bench: building retry-sidecar (npm run build)\n");
    execFileSync("npm", ["run", "build", "--silent"], { cwd: repoDir, stdio: "inherit" });
  }
  return existsSync(main);
}

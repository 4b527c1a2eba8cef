/**
 * A container-faithful start: in a pod the node binary and node_modules come from the image and are
 * read for the first time by the container, so their page cache is charged to the pod's memory
 * cgroup. On this machine they are already cached (charged to whoever read them first), and a row
 * started from them would look lighter than the pod. So each cgroup row runs from its own fresh
 * copy: the node binary, package.json, the build (as app/dist/) and the production node_modules
 * (`npm ls --omit=dev`, what the image's `npm ci --omit=dev` installs), laid out as the image's /app.
 *
 * The copy is made by a `cp` inside a scratch memory cgroup, which is then emptied
 * (memory.force_empty: writes the copies back and evicts exactly their pages) and removed. Why not
 * the alternatives: `echo 1 > /proc/sys/vm/drop_caches` is global (it would evict the pages of the
 * rows already running and of everyone else on the machine); fadvise(DONTNEED) per file needs a
 * `dd iflag=nocache` per file (some 2,600) and drops nothing while pages are still dirty.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { createMemoryCgroup, forceEmpty, removeCgroup } from "./cgroup.js";
import { run } from "./procs.js";

let productionPackages: string[] | undefined;

/** node_modules/... directories of the production dependencies, relative to the repository. */
function productionNodeModules(repoDir: string): string[] {
  if (productionPackages) return productionPackages;
  let out: string;
  try {
    out = execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], {
      cwd: repoDir,
      stdio: ["ignore", "pipe", "ignore"],
    }).toString();
  } catch (error) {
    // npm ls exits non-zero on an extraneous or invalid package but still lists the tree.
    out = String((error as { stdout?: Buffer }).stdout ?? "");
  }
  productionPackages = out
    .split("\n")
    .map((line) => relative(repoDir, line.trim()))
    .filter((path) => path.startsWith("node_modules"));
  if (productionPackages.length === 0) throw new Error("fresh start: `npm ls --omit=dev` listed no packages");
  return productionPackages;
}

export interface FreshCopy {
  /** The copied node binary. */
  node: string;
  /** The image's WORKDIR (/app): run `node <flags> dist/<script>` from here. */
  cwd: string;
  script: string;
  /** Bytes of the copy still in the page cache after the eviction (should be ~0). */
  leftCachedBytes: number;
  remove: () => void;
}

/** Copies node and the app into dir/name, with their page cache evicted; see the file comment. */
export async function freshCopy(
  repoDir: string,
  dir: string,
  name: string,
  node: string,
  main: string,
): Promise<FreshCopy> {
  const root = join(dir, "fresh", name.replace(/[^\w.@-]/g, "_"));
  rmSync(root, { recursive: true, force: true });
  const app = join(root, "app");
  mkdirSync(app, { recursive: true });
  const scratch = createMemoryCgroup(`retry-sidecar-bench-${process.pid}-copy-${basename(root)}`, "64Gi");
  if ("error" in scratch) throw new Error(`fresh start: ${scratch.error}`);
  try {
    // One shell in the scratch cgroup: node, the build as dist/, package.json, the production packages.
    const script = [
      'echo $$ > "$0"',
      'app="$2/app"',
      'cp "$1" "$2/node"',
      'cp -r "$3" "$app/dist"',
      'cp "$4/package.json" "$app/"',
      'cd "$4"',
      "shift 4",
      'exec cp -r --parents "$@" "$app"',
    ].join(" && ");
    const packages = productionNodeModules(repoDir);
    await run("sh", [
      "-c",
      script,
      join(scratch.dir, "cgroup.procs"),
      node,
      root,
      dirname(main),
      repoDir,
      ...packages,
    ]);
    const leftCachedBytes = forceEmpty(scratch);
    return {
      node: join(root, "node"),
      cwd: app,
      script: join("dist", basename(main)),
      leftCachedBytes,
      remove: () => rmSync(root, { recursive: true, force: true }),
    };
  } finally {
    await removeCgroup(scratch);
  }
}

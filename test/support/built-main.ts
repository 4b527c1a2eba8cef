import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function sourceHash(): string {
  const hash = createHash("sha256");
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else {
        hash.update(relative(repoRoot, path));
        hash.update(readFileSync(path));
      }
    }
  };
  walk(join(repoRoot, "src"));
  hash.update(readFileSync(join(repoRoot, "tsconfig.json")));
  return hash.digest("hex").slice(0, 16);
}

let built: Promise<string> | undefined;

/**
 * Compiles src/ with the project's tsconfig (what `npm run build` puts in dist/) into a private
 * directory under node_modules/.cache, keyed by a hash of the sources, and returns the path of
 * its main.js. Test files running at the same time share one build; dist/ is never touched,
 * so a build running elsewhere cannot be caught half-written.
 */
export function builtMain(): Promise<string> {
  built ??= (async () => {
    const cache = join(repoRoot, "node_modules", ".cache", "retry-sidecar-it");
    const out = join(cache, sourceHash());
    const main = join(out, "main.js");
    if (existsSync(main)) return main;
    // One build per source version across test files: the first to take the lock builds, the
    // others wait for its main.js (a lock older than a minute is a crashed build's, ignored).
    const lock = `${out}.lock`;
    mkdirSync(cache, { recursive: true });
    try {
      mkdirSync(lock);
    } catch {
      for (let i = 0; i < 600 && !existsSync(main); i++) {
        const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0;
        if (Date.now() - since > 60_000) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      if (existsSync(main)) return main;
    }
    try {
      return await compile(out, main);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  })();
  return built;
}

async function compile(out: string, main: string): Promise<string> {
  const tmp = `${out}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
  try {
    await run(process.execPath, [tsc, "-p", join(repoRoot, "tsconfig.json"), "--outDir", tmp], {
      cwd: repoRoot,
    });
  } catch (error) {
    // tsc still emits JavaScript on a type error (typechecking is another check's job);
    // only a build that produced no main.js is a failure here.
    if (!existsSync(join(tmp, "main.js"))) {
      const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
      throw new Error(`tsc failed:\n${stdout}${stderr}`, { cause: error });
    }
  }
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another test file won the race
  }
  return main;
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node main.js ...args` with exactly `env` (plus PATH) and waits for it to exit. */
export async function runCli(
  main: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<CliResult> {
  const child = spawn(process.execPath, [main, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const [code] = (await once(child, "close")) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

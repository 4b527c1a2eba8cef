import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseDockerfile, type Stage } from "./helpers/dockerfile.js";
import { repoRoot } from "./helpers/paths.js";

const { stages } = parseDockerfile();
const final = stages.at(-1) as Stage;
const runs = (stage: Stage) => stage.steps.filter((s) => s.keyword === "RUN").map((s) => s.args.join(" "));

/** .dockerignore semantics: patterns in order, the last one that matches a path (or a parent) wins. */
function ignored(path: string): boolean {
  const lines = readFileSync(join(repoRoot, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const toRegExp = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/\/$/, "")
        .replace(/[.+^$()|[\]\\]/g, "\\$&")
        .replace(/\*\*\//g, "\u0000")
        .replace(/\*\*/g, ".*")
        .replace(/\*/g, "[^/]*")
        .replace(/\?/g, "[^/]")
        .replaceAll("\u0000", "(?:.*/)?")}(?:/.*)?$`,
    );
  let result = false;
  for (const line of lines) {
    const negated = line.startsWith("!");
    if (toRegExp(negated ? line.slice(1) : line).test(path)) result = !negated;
  }
  return result;
}

describe("Dockerfile", () => {
  it("is multi-stage: a build stage, a production-dependencies stage and the runtime stage", () => {
    expect(stages.map((s) => s.name)).toEqual(["build", "deps", "runtime"]);
    expect(runs(stages[0] as Stage)).toContain("npm ci --ignore-scripts --no-audit --no-fund");
    expect(runs(stages[0] as Stage)).toContain("npm run build");
    expect(runs(stages[1] as Stage).some((r) => /^npm ci --omit=dev\b/.test(r))).toBe(true);
  });

  it("installs with --ignore-scripts: the clone's `prepare` build must not run before the sources are copied", () => {
    // package.json's "prepare" builds dist/ after `npm ci` in a clone. In the build stage only
    // package.json and the lock file are there at install time, so the build is its own step;
    // no dependency's install script runs in the image build either.
    const installs = stages.flatMap(runs).filter((r) => /^npm ci\b/.test(r));
    expect(installs).toHaveLength(2);
    for (const install of installs) expect(install.split(/\s+/), install).toContain("--ignore-scripts");
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
    expect(pkg.scripts.prepare).toBeDefined();
  });

  it("pins every stage to the same patch release of an LTS (even-numbered) Node.js image", () => {
    for (const stage of stages) {
      const match = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/.exec(stage.image);
      expect(match, `stage ${stage.name}: ${stage.image}`).not.toBeNull();
      const major = Number(match?.[1]);
      expect(major % 2, "odd Node.js majors never become LTS").toBe(0);
      expect(major).toBeGreaterThanOrEqual(22);
    }
    expect(new Set(stages.map((s) => s.image)).size).toBe(1);
  });

  it("runs `node dist/main.js` itself as PID 1, in exec form, never through npm or a shell", () => {
    const entrypoint = final.steps.filter((s) => s.keyword === "ENTRYPOINT").at(-1);
    const cmd = final.steps.filter((s) => s.keyword === "CMD").at(-1);
    expect(entrypoint?.exec, "ENTRYPOINT must be a JSON array").toBeDefined();
    if (cmd) expect(cmd.exec, "CMD must be a JSON array").toBeDefined();
    const command = [...(entrypoint?.exec ?? []), ...(cmd?.exec ?? [])];
    expect(command[0]).toBe("node");
    // Between node and the script only node's own flags (the measured memory settings).
    const script = command.indexOf("dist/main.js");
    expect(script).toBeGreaterThan(0);
    for (const flag of command.slice(1, script)) expect(flag).toMatch(/^--[a-z-]+(=\S+)?$/);
    expect(command.join(" ")).not.toMatch(/\bnpm\b|\bsh\b|\bbash\b/);
  });

  it("runs as a numeric non-root user", () => {
    const user = final.steps.filter((s) => s.keyword === "USER").at(-1)?.args[0];
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user?.split(":")[0])).toBeGreaterThan(0);
    // Nothing after USER switches back to root.
    const afterUser = final.steps.slice(final.steps.findIndex((s) => s.keyword === "USER"));
    expect(afterUser.filter((s) => s.keyword === "USER")).toHaveLength(1);
  });

  it("exposes the proxy port 8080 and the admin port 9464", () => {
    const exposed = final.steps.filter((s) => s.keyword === "EXPOSE").flatMap((s) => s.args);
    expect(exposed).toEqual(expect.arrayContaining(["8080", "9464"]));
  });

  it("bundles dist/main.js with esbuild in the build stage and ships the bundle as dist/main.js", () => {
    const build = stages[0] as Stage;
    expect(runs(build)).toContain("node scripts/bundle.mjs bundle");
    const bundled = runs(build).indexOf("node scripts/bundle.mjs bundle");
    expect(bundled, "the bundle is made from the TypeScript build").toBeGreaterThan(
      runs(build).indexOf("npm run build"),
    );
    const copy = final.steps.find((s) => s.keyword === "COPY" && s.from === "build");
    expect(copy?.args.filter((a) => !a.startsWith("--"))).toEqual(["/app/bundle", "./dist"]);
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8"));
    expect(
      pkg.devDependencies.esbuild,
      "esbuild is a direct dev dependency, not a transitive one",
    ).toBeDefined();
  });

  it("ships only the bundle (as dist/), production node_modules and package.json in the runtime stage, without build tools", () => {
    const copies = final.steps.filter((s) => s.keyword === "COPY");
    const copied = copies.map(
      (c) => `${c.from ?? "context"}:${c.args.filter((a) => !a.startsWith("--"))[0]}`,
    );
    expect(copied.sort()).toEqual(
      ["build:/app/bundle", "context:package.json", "deps:/app/node_modules"].sort(),
    );
    expect(final.steps.some((s) => s.keyword === "ADD")).toBe(false);
    // The commands the runtime stage runs (first word of each `&&` / `;` / `|` segment).
    const commands = runs(final).flatMap((run) =>
      run.split(/&&|;|\|\|?/).map((part) => part.trim().split(/\s+/)[0]),
    );
    for (const command of commands) {
      expect(command).not.toMatch(
        /^(apt-get|apt|apk|npm|npx|yarn|pnpm|gcc|g\+\+|cc|make|python3?|node-gyp|curl|wget)$/,
      );
    }
    // The package managers of the base image are removed.
    expect(runs(final).join(" ")).toMatch(/rm -rf .*\/usr\/local\/bin\/npm\b/);
  });

  it("sets NODE_ENV=production and keeps the default SIGTERM stop signal", () => {
    expect(final.steps.some((s) => s.keyword === "ENV" && s.args.includes("NODE_ENV=production"))).toBe(true);
    const stop = final.steps.find((s) => s.keyword === "STOPSIGNAL")?.args[0];
    expect(stop ?? "SIGTERM").toBe("SIGTERM");
  });

  it("keeps node_modules, dist, .git and local env files out of the build context", () => {
    for (const path of [
      "node_modules",
      "node_modules/x/index.js",
      "dist/main.js",
      ".git/HEAD",
      ".env",
      "test/a.test.ts",
    ]) {
      expect(ignored(path), path).toBe(true);
    }
  });

  it("lets every file the Dockerfile copies from the context into the context", () => {
    const sources = stages
      .flatMap((s) => s.steps)
      .filter((s) => s.keyword === "COPY" && !s.from)
      .flatMap((s) => s.args.filter((a) => !a.startsWith("--")).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(ignored(source), source).toBe(false);
    expect(ignored("src/main.ts")).toBe(false);
  });
});

describe("memory settings where the process starts", () => {
  it("the image and npm start run node with the same measured flags and malloc settings", () => {
    const entrypoint = final.steps.filter((s) => s.keyword === "ENTRYPOINT").at(-1)?.exec ?? [];
    const flags = entrypoint.slice(1, entrypoint.indexOf("dist/main.js"));
    expect(flags).toContain("--max-semi-space-size=4");
    // Maglev's compile jobs pile up their zones in glibc's heaps during warm-up (bench/README.md).
    expect(flags).toContain("--no-maglev");
    const env = final.steps.filter((s) => s.keyword === "ENV").map((s) => s.args.join(" "));
    const malloc = env.join(" ").match(/\bMALLOC_\w+=\S+/g) ?? [];
    expect(malloc).toEqual(["MALLOC_ARENA_MAX=2", "MALLOC_MMAP_THRESHOLD_=131072"]);
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
      scripts: { start: string };
    };
    // `exec`: the shell npm runs the script in becomes node, so npm's SIGTERM reaches the sidecar.
    expect(pkg.scripts.start).toBe(`${malloc.join(" ")} exec node ${flags.join(" ")} dist/main.js`);
  });
});

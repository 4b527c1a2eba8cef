import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDockerfile } from "./helpers/dockerfile.js";
import { repoRoot, requireBuild } from "./helpers/paths.js";
import {
  type FlakyUpstream,
  type Sidecar,
  sendRequests,
  sidecarEnv,
  startFlakyUpstream,
  startSidecar,
} from "./helpers/processes.js";

// What the Dockerfile's deps and runtime stages do, without Docker: dist/, package.json and the
// lock file in a clean folder, the deps stage's own `npm ci --omit=dev ...` command, then
// `node dist/main.js`. A runtime dependency that sits in devDependencies makes the sidecar fail
// to start here.
requireBuild();
const depsInstall = parseDockerfile()
  .stages.find((s) => s.name === "deps")
  ?.steps.filter((s) => s.keyword === "RUN")
  .map((s) => s.args.join(" ").split("&&")[0]?.trim() ?? "")
  .find((command) => command.startsWith("npm ci"));
if (!depsInstall) throw new Error("the Dockerfile's deps stage runs no `npm ci`");
const dir = mkdtempSync(join(tmpdir(), "retry-sidecar-install-"));
const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
let upstream: FlakyUpstream;
let sidecar: Sidecar | undefined;

beforeAll(() => {
  cpSync(join(repoRoot, "dist"), join(dir, "dist"), { recursive: true });
  for (const file of ["package.json", "package-lock.json"]) cpSync(join(repoRoot, file), join(dir, file));
  const [npm = "npm", ...npmArgs] = depsInstall.split(/\s+/);
  expect(npmArgs).toContain("--omit=dev");
  const install = spawnSync(npm, npmArgs, {
    cwd: dir,
    encoding: "utf8",
    timeout: 240_000,
    env: { ...process.env, NODE_ENV: "production" },
  });
  expect(install.status, `${depsInstall} failed:\n${install.stdout}\n${install.stderr}`).toBe(0);
}, 300_000);

afterAll(async () => {
  await sidecar?.stop();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("a production install (npm ci --omit=dev) of dist/", () => {
  it("has the runtime dependencies and none of the development ones", () => {
    for (const name of Object.keys(pkg.dependencies)) {
      expect(existsSync(join(dir, "node_modules", name)), name).toBe(true);
    }
    for (const name of Object.keys(pkg.devDependencies)) {
      expect(existsSync(join(dir, "node_modules", name)), name).toBe(false);
    }
  });

  it("skips the `prepare` build where there is no TypeScript, so a plain `npm ci --omit=dev` works too", () => {
    cpSync(join(repoRoot, "scripts"), join(dir, "scripts"), { recursive: true });
    const before = readFileSync(join(dir, "dist", "main.js"), "utf8");
    const prepare = spawnSync("npm", ["run", "prepare"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
    expect(prepare.status, `${prepare.stdout}\n${prepare.stderr}`).toBe(0);
    expect(prepare.stdout).toMatch(/typescript is not installed .* build skipped/);
    expect(readFileSync(join(dir, "dist", "main.js"), "utf8")).toBe(before);
  });

  it("starts, serves /healthz and /readyz, and forwards a request upstream with retries", async () => {
    upstream = await startFlakyUpstream(2);
    sidecar = await startSidecar(join(dir, "dist", "main.js"), dir, await sidecarEnv(upstream.url));
    expect((await fetch(`${sidecar.adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${sidecar.adminUrl}/readyz`)).status).toBe(200);

    const statuses = await sendRequests(sidecar.proxyUrl, 3);
    expect(statuses).toEqual([200, 200, 200]);
    expect(upstream.received[0]).toMatchObject({ method: "POST", path: "/provider", attempt: "1" });
    expect(upstream.received.some((r) => r.attempt === "2")).toBe(true);
    expect(await (await fetch(`${sidecar.adminUrl}/metrics`)).text()).toMatch(
      /^retry_sidecar_retries_total\{/m,
    );
  });

  it("drains and exits 0 on SIGTERM, as node does as PID 1 in the image", async () => {
    expect(sidecar).toBeDefined();
    const code = await sidecar?.stop(10_000);
    sidecar = undefined;
    expect(code).toBe(0);
  });
});

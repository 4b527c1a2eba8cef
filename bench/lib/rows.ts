import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { haproxyConfig } from "./haproxy.js";
import { proxyConfig, type UpstreamPorts, upstreamConfig, writeConfig } from "./nginx.js";
import { freePort, startProcess, stopProcess, waitForPort } from "./procs.js";
import { processTree } from "./procstat.js";
import type { RowId } from "./results.js";

/** A server under test, running. */
export interface Running {
  port: number;
  /** The processes whose CPU and memory count for this row (re-read each time: workers may change). */
  pids: () => number[];
  stop: () => Promise<void>;
}

export interface RowContext {
  dir: string;
  buildDir: string;
  repoDir: string;
  proxyCpu: string | undefined;
  upstreamPort: number;
  /** Extra `node` flags for the retry-sidecar row (e.g. --cpu-prof). */
  sidecarNodeArgs: string[];
  sidecarEnv: Record<string, string>;
  /** Another build's main.js, run as the "baseline" row to A/B a change in one interleaved run. */
  baselineMain: string | undefined;
  /** The retry-sidecar build under test (dist/main.js unless --sidecar says otherwise). */
  sidecarMain: string;
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Stops nginx or HAProxy through the PID in its own pid file (SIGTERM: fast shutdown, which also
 * ends the workers), then waits for our child to exit.
 */
async function stopViaPidFile(child: ChildProcess, pidFile: string): Promise<void> {
  const pid = readPid(pidFile);
  if (pid !== undefined && pid === child.pid) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
  await stopProcess(child);
}

async function startDaemon(
  name: string,
  cmd: string,
  args: string[],
  pidFile: string,
  port: number,
  dir: string,
  cpu: string | undefined,
): Promise<Running> {
  const child = startProcess(cmd, args, { cpu, stdoutFile: join(dir, `${name}.out`) });
  await waitForPort(port, name, child);
  const root = child.pid ?? 0;
  // nginx writes its pid file just after listening; give it a moment so stop() finds it.
  for (let i = 0; i < 40 && readPid(pidFile) === undefined; i++) await sleep(25);
  return { port, pids: () => processTree(root), stop: () => stopViaPidFile(child, pidFile) };
}

export async function startUpstream(dir: string, cpu: string | undefined): Promise<Running & UpstreamPorts> {
  const ports: UpstreamPorts = { ok: await freePort(), outage: await freePort(), flaky: await freePort() };
  const conf = writeConfig(dir, "upstream", upstreamConfig(dir, ports));
  const running = await startDaemon(
    "upstream",
    "nginx",
    ["-p", dir, "-c", conf, "-e", join(dir, "upstream-error.log")],
    join(dir, "upstream.pid"),
    ports.ok,
    dir,
    cpu,
  );
  await waitForPort(ports.outage, "upstream (outage)");
  await waitForPort(ports.flaky, "upstream (flaky)");
  return { ...running, ...ports };
}

async function startNode(
  name: string,
  script: string,
  nodeArgs: string[],
  env: Record<string, string>,
  port: number,
  ctx: RowContext,
): Promise<Running> {
  const child = startProcess(process.execPath, [...nodeArgs, script], {
    cpu: ctx.proxyCpu,
    env: { ...process.env, NODE_ENV: "production", ...env },
    stdoutFile: join(ctx.dir, `${name}.out`),
    cwd: ctx.dir,
  });
  await waitForPort(port, name, child);
  const pid = child.pid ?? 0;
  return { port, pids: () => [pid], stop: () => stopProcess(child, 5000) };
}

/** Environment for a retry-sidecar on loopback (both listeners) in front of an upstream port. */
export function sidecarEnv(port: number, adminPort: number, upstreamPort: number): Record<string, string> {
  return {
    UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`,
    LISTEN_HOST: "127.0.0.1",
    PORT: String(port),
    ADMIN_HOST: "127.0.0.1",
    ADMIN_PORT: String(adminPort),
    LOG_LEVEL: "info",
  };
}

export async function startSidecar(
  ctx: RowContext,
  name: string,
  upstreamPort: number,
  extraEnv: Record<string, string> = {},
  nodeArgs: string[] = [],
  main = ctx.sidecarMain,
): Promise<Running> {
  const port = await freePort();
  const env = { ...sidecarEnv(port, await freePort(), upstreamPort), ...extraEnv };
  return startNode(name, main, nodeArgs, env, port, ctx);
}

export async function startRow(id: Exclude<RowId, "direct">, ctx: RowContext): Promise<Running> {
  const port = await freePort();
  const up = ctx.upstreamPort;
  switch (id) {
    case "nginx": {
      const conf = writeConfig(ctx.dir, "nginx-proxy", proxyConfig(ctx.dir, port, up));
      const args = ["-p", ctx.dir, "-c", conf, "-e", join(ctx.dir, "nginx-proxy-error.log")];
      return startDaemon(
        "nginx-proxy",
        "nginx",
        args,
        join(ctx.dir, "nginx-proxy.pid"),
        port,
        ctx.dir,
        ctx.proxyCpu,
      );
    }
    case "haproxy": {
      const conf = writeConfig(ctx.dir, "haproxy", haproxyConfig(ctx.dir, port, up));
      const args = ["-f", conf, "-db"];
      return startDaemon(
        "haproxy",
        "haproxy",
        args,
        join(ctx.dir, "haproxy.pid"),
        port,
        ctx.dir,
        ctx.proxyCpu,
      );
    }
    case "fastify":
      return startNode(
        "fastify",
        join(ctx.buildDir, "peers", "fastify-reply-from.js"),
        [],
        { PORT: String(port), UPSTREAM_URL: `http://127.0.0.1:${up}` },
        port,
        ctx,
      );
    case "bare":
      return startNode(
        "bare",
        join(ctx.buildDir, "peers", "bare-hono-undici.js"),
        [],
        { PORT: String(port), UPSTREAM_URL: `http://127.0.0.1:${up}` },
        port,
        ctx,
      );
    case "sidecar":
      return startSidecar(ctx, "sidecar", up, ctx.sidecarEnv, ctx.sidecarNodeArgs);
    case "baseline":
      return startSidecar(ctx, "baseline", up, {}, [], ctx.baselineMain);
  }
}

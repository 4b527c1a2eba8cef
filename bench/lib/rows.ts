import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { createMemoryCgroup, inCgroup, type MemoryCgroup, removeCgroup, sampleCgroup } from "./cgroup.js";
import { startBenchDns, waitForActiveEndpoints } from "./dns-endpoints.js";
import { type FreshCopy, freshCopy } from "./fresh-start.js";
import { haproxyConfig } from "./haproxy.js";
import { proxyConfig, type UpstreamPorts, upstreamConfig, writeConfig } from "./nginx.js";
import { freePort, startProcess, stopProcess, waitForPort } from "./procs.js";
import { processTree } from "./procstat.js";
import type { RowId } from "./results.js";

/** A server under test, running. */
export interface Running {
  port: number;
  /** retry-sidecar rows: the admin port (GET /endpoints). */
  adminPort?: number;
  /** The processes whose CPU and memory count for this row (re-read each time: workers may change). */
  pids: () => number[];
  stop: () => Promise<void>;
  /** Node rows: the node binary that runs it. */
  node?: string;
  /** The memory cgroup it runs in, or why it could not be made. */
  cgroup?: MemoryCgroup | undefined;
  cgroupError?: string | undefined;
  /** Where the preloaded memory report writes on SIGUSR2. */
  memoryReportFile?: string | undefined;
  /** Rows in a cgroup: started from a fresh copy of node and the app (fresh-start.ts), or not. */
  freshStart?: { leftCachedMb: number } | undefined;
  /** Times it died on its own (OOM kills), and a restart when it has. */
  deaths?: () => number;
  ensureAlive?: () => Promise<void>;
}

export interface RowContext {
  dir: string;
  buildDir: string;
  repoDir: string;
  proxyCpu: string | undefined;
  loadCpu: string | undefined;
  upstreamPort: number;
  /** The Node.js binaries: the image's line (Node 24) and the machine's (the bench's own). */
  node24: string;
  node20: string;
  /** Which of the two runs the Node peers (fastify, bare, dispatch). */
  peersNode: string;
  /** Extra `node` flags and settings for the retry-sidecar rows (e.g. --max-semi-space-size=8). */
  sidecarNodeArgs: string[];
  sidecarEnv: Record<string, string>;
  /** The same for the baseline row (an A/B of flags: --baseline=<same build> --sidecar-node-args=...). */
  baselineNodeArgs: string[];
  baselineEnv: Record<string, string>;
  /** Another build's main.js, run as the "baseline" row to A/B a change in one interleaved run. */
  baselineMain: string | undefined;
  /** The retry-sidecar build under test (dist/main.js unless --sidecar says otherwise). */
  sidecarMain: string;
  /** Memory limit of the sidecar rows' cgroups ("256Mi"), undefined for none. */
  memoryLimit: string | undefined;
  /** Rows that run under `node --cpu-prof`, and where the profiles go. */
  cpuProf: readonly RowId[];
  profileDir: string;
  /** Preload the memory report (bench/preload/memory-report.ts) into the Node rows. */
  memoryReport: boolean;
  /** Start the cgroup rows from a fresh, uncached copy of node and the app (off: --cached-start). */
  freshStart: boolean;
  log: (line: string) => void;
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
  // The kernel picks ports free on 127.0.0.1; the `ok` port may still be taken on 127.0.0.2-4
  // (nginx then exits at once): try again with other ports.
  for (let attempt = 1; ; attempt++) {
    const ports: UpstreamPorts = { ok: await freePort(), outage: await freePort(), flaky: await freePort() };
    const conf = writeConfig(dir, "upstream", upstreamConfig(dir, ports));
    let running: Running;
    try {
      running = await startDaemon(
        "upstream",
        "nginx",
        ["-p", dir, "-c", conf, "-e", join(dir, "upstream-error.log")],
        join(dir, "upstream.pid"),
        ports.ok,
        dir,
        cpu,
      );
    } catch (error) {
      if (attempt >= 3) throw error;
      continue;
    }
    await waitForPort(ports.outage, "upstream (outage)");
    await waitForPort(ports.flaky, "upstream (flaky)");
    return { ...running, ...ports };
  }
}

/** How a Node row runs: which node, inside which memory limit, with which flags and settings. */
export interface NodeSpec {
  node: string;
  nodeArgs: string[];
  env: Record<string, string>;
  /** A memory cgroup limit ("256Mi"), or undefined to run outside any limit of the bench's own. */
  memoryLimit: string | undefined;
}

let cgroupSerial = 0;

/**
 * Starts a Node server. With a memory limit it runs in its own memory cgroup, created before and
 * removed after (see cgroup.ts). Its stdout goes through a pipe to a `cat` on the load CPU, as a
 * container's stdout goes to the runtime's log pipe: log lines are then not page cache charged
 * to the cgroup. If it dies (the OOM killer), the next measurement restarts it, as the kubelet
 * restarts a container, and the death is counted.
 */
async function startNode(
  name: string,
  script: string,
  spec: NodeSpec,
  port: number,
  ctx: RowContext,
): Promise<Running> {
  let cgroup: MemoryCgroup | undefined;
  let cgroupError: string | undefined;
  if (spec.memoryLimit !== undefined) {
    const made = createMemoryCgroup(
      `retry-sidecar-bench-${process.pid}-${++cgroupSerial}-${name}`,
      spec.memoryLimit,
    );
    if ("error" in made) {
      cgroupError = made.error;
      ctx.log(`bench: WARNING: ${name} runs outside any memory cgroup: ${made.error}`);
    } else cgroup = made;
  }
  const memoryReportFile = ctx.memoryReport ? join(ctx.dir, `${name}.memory.json`) : undefined;
  const preload = memoryReportFile
    ? [`--import=${pathToFileURL(join(ctx.buildDir, "preload", "memory-report.js")).href}`]
    : [];
  const rowId = name as RowId;
  const prof = ctx.cpuProf.includes(rowId)
    ? [
        "--cpu-prof",
        `--cpu-prof-dir=${ctx.profileDir}`,
        `--cpu-prof-name=${name.replace(/[^\w.@-]/g, "_")}.cpuprofile`,
      ]
    : [];
  // In a cgroup, start as the container does: node and the app read for the first time inside it.
  let copy: FreshCopy | undefined;
  if (cgroup && ctx.freshStart) {
    copy = await freshCopy(
      ctx.repoDir,
      join(ctx.repoDir, "bench", "results", "tmp"),
      name,
      spec.node,
      script,
    );
    const left = copy.leftCachedBytes / 1e6;
    if (left > 1) ctx.log(`bench: WARNING: ${name}: ${left.toFixed(1)} MB of its fresh copy stayed cached`);
  }
  const args = [...preload, ...prof, ...spec.nodeArgs, copy?.script ?? script];
  const env = {
    ...process.env,
    NODE_ENV: "production",
    ...(memoryReportFile ? { BENCH_MEMORY_REPORT: memoryReportFile } : {}),
    ...spec.env,
  };
  const logFile = join(ctx.dir, `${name}.out`);
  let deaths = 0;
  let stopping = false;
  let child: ChildProcess;
  let sink: ChildProcess;
  const spawnIt = async () => {
    sink = startProcess("sh", ["-c", 'exec cat >> "$0"', logFile], { cpu: ctx.loadCpu, stdin: "pipe" });
    const node = copy?.node ?? spec.node;
    const [cmd, argv] = cgroup ? inCgroup(cgroup, node, args) : [node, args];
    const cwd = copy?.cwd ?? ctx.dir;
    child = startProcess(cmd, argv, { cpu: ctx.proxyCpu, env, stdout: sink.stdin ?? "ignore", cwd });
    // The child holds its own copy of the pipe; ours would keep cat from seeing EOF.
    sink.stdin?.destroy();
    child.once("exit", (code, signal) => {
      if (stopping) return;
      deaths++;
      const oom = cgroup ? sampleCgroup(cgroup).oomKills : 0;
      ctx.log(
        `bench: WARNING: ${name} died (${signal ?? `exit ${code}`}${oom > 0 ? `, ${oom} OOM kill(s) in its cgroup` : ""})`,
      );
    });
    await waitForPort(port, name, child);
  };
  await spawnIt();
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    port,
    pids: () => (alive() ? [child.pid ?? 0] : []),
    node: spec.node,
    cgroup,
    cgroupError,
    freshStart: copy ? { leftCachedMb: copy.leftCachedBytes / 1e6 } : undefined,
    memoryReportFile,
    deaths: () => deaths,
    ensureAlive: async () => {
      if (alive()) return;
      ctx.log(`bench: restarting ${name}`);
      await spawnIt();
    },
    stop: async () => {
      stopping = true;
      // A profiled process writes its .cpuprofile on the way out: give it time.
      await stopProcess(child, prof.length > 0 ? 60_000 : 5000);
      await stopProcess(sink, 5000);
      if (cgroup) await removeCgroup(cgroup);
      copy?.remove();
    },
  };
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

/** How each retry-sidecar row runs (Node, limit, flags); undefined for the other rows. */
export function sidecarSpec(id: RowId, ctx: RowContext): (NodeSpec & { main: string }) | undefined {
  const sidecar = { nodeArgs: ctx.sidecarNodeArgs, env: ctx.sidecarEnv, main: ctx.sidecarMain };
  // sidecar-3ep: the same; startRow gives it a DNS name with three addresses for UPSTREAM_URL.
  if (id === "sidecar" || id === "sidecar-3ep")
    return { ...sidecar, node: ctx.node24, memoryLimit: ctx.memoryLimit };
  if (id === "sidecar-node20") return { ...sidecar, node: ctx.node20, memoryLimit: ctx.memoryLimit };
  if (id.startsWith("sidecar@")) {
    const limit = id.slice("sidecar@".length);
    return { ...sidecar, node: ctx.node24, memoryLimit: limit === "none" ? undefined : limit };
  }
  if (id === "baseline" && ctx.baselineMain !== undefined) {
    const main = ctx.baselineMain;
    return {
      node: ctx.node24,
      nodeArgs: ctx.baselineNodeArgs,
      env: ctx.baselineEnv,
      main,
      memoryLimit: ctx.memoryLimit,
    };
  }
  return undefined;
}

export async function startSidecar(
  ctx: RowContext,
  name: string,
  upstreamPort: number,
  spec: NodeSpec & { main: string },
): Promise<Running> {
  const port = await freePort();
  const adminPort = await freePort();
  const env = { ...sidecarEnv(port, adminPort, upstreamPort), ...spec.env };
  return { ...(await startNode(name, spec.main, { ...spec, env }, port, ctx)), adminPort };
}

/**
 * The shipped sidecar with UPSTREAM_URL naming billing.bench, which a dnsmasq started here resolves
 * to the upstream's three extra addresses: three endpoints. Stopping the row stops dnsmasq too.
 */
async function startThreeEndpointSidecar(ctx: RowContext, upstreamPort: number): Promise<Running> {
  const spec = sidecarSpec("sidecar-3ep", ctx);
  if (!spec) throw new Error("no sidecar-3ep spec");
  const dns = await startBenchDns(upstreamPort);
  let sidecar: Running | undefined;
  try {
    sidecar = await startSidecar(ctx, "sidecar-3ep", upstreamPort, {
      ...spec,
      env: { ...spec.env, ...dns.env },
    });
    const active = await waitForActiveEndpoints(sidecar.adminPort ?? 0, 3);
    ctx.log(`bench: sidecar-3ep: ${dns.env.UPSTREAM_URL} -> endpoints ${active.join(", ")}`);
  } catch (error) {
    await sidecar?.stop();
    await dns.stop();
    throw error;
  }
  const running = sidecar;
  return {
    ...running,
    stop: async () => {
      await running.stop();
      await dns.stop();
    },
  };
}

export async function startRow(id: Exclude<RowId, "direct">, ctx: RowContext): Promise<Running> {
  const port = await freePort();
  const up = ctx.upstreamPort;
  const peer = (file: string) =>
    startNode(
      id,
      join(ctx.buildDir, "peers", file),
      {
        node: ctx.peersNode,
        nodeArgs: [],
        env: { PORT: String(port), UPSTREAM_URL: `http://127.0.0.1:${up}` },
        memoryLimit: undefined,
      },
      port,
      ctx,
    );
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
      return peer("fastify-reply-from.js");
    case "bare":
      return peer("bare-hono-undici.js");
    case "dispatch":
      return peer("dispatch-forwarder.js");
    case "sidecar-3ep":
      return startThreeEndpointSidecar(ctx, up);
    default: {
      const spec = sidecarSpec(id, ctx);
      if (!spec) throw new Error(`unknown row ${id}`);
      return startSidecar(ctx, id, up, spec);
    }
  }
}

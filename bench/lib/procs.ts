import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, openSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import type { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";

/** CPUs this process may run on, from the kernel's Cpus_allowed_list ("0-1", "0,2"). */
export function allowedCpus(): number[] {
  const list = readFileSync("/proc/self/status", "utf8").match(/^Cpus_allowed_list:\s+(.+)$/m)?.[1] ?? "0";
  const cpus: number[] = [];
  for (const part of list.trim().split(",")) {
    const [from, to] = part.split("-").map(Number);
    for (let cpu = from ?? 0; cpu <= (to ?? from ?? 0); cpu++) cpus.push(cpu);
  }
  return cpus;
}

/**
 * Where things run: the proxy under test alone on one core, the load generators and the upstream
 * on another. With a single CPU nothing is pinned.
 */
export interface Placement {
  proxyCpu: string | undefined;
  loadCpu: string | undefined;
}

export function placement(): Placement {
  const cpus = allowedCpus();
  if (cpus.length < 2 || !existsSync("/usr/bin/taskset")) return { proxyCpu: undefined, loadCpu: undefined };
  return { proxyCpu: String(cpus[0]), loadCpu: String(cpus[1]) };
}

/** Prefixes a command with `taskset -c CPU` when a CPU is given. */
export function pinned(cpu: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return cpu === undefined ? [cmd, [...args]] : ["taskset", ["-c", cpu, cmd, ...args]];
}

const started = new Set<ChildProcess>();
/** Processes a helper outside this file started (dnsmasq), by PID, for the same last-resort cleanup. */
const startedElsewhere = new Set<number>();

/** Records a PID for killAllStartedSync; the returned function forgets it (once it is stopped). */
export function rememberPid(pid: number | undefined): () => void {
  if (pid === undefined) return () => {};
  startedElsewhere.add(pid);
  return () => startedElsewhere.delete(pid);
}

export interface SpawnOptions {
  cpu?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** File that receives stdout (and stderr); without it (and without `stdout`) output is discarded. */
  stdoutFile?: string;
  /** A pipe (e.g. another child's stdin) that receives stdout and stderr. */
  stdout?: Writable | "ignore";
  /** "pipe" to write to the child's stdin (child.stdin), e.g. a log sink. */
  stdin?: "pipe" | "ignore";
  cwd?: string;
}

/** Starts a long-running server process (pinned when asked) and remembers it for cleanup. */
export function startProcess(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const [file, argv] = pinned(options.cpu, cmd, args);
  const out = options.stdoutFile ? openSync(options.stdoutFile, "a") : (options.stdout ?? "ignore");
  const child = spawn(file, argv, {
    env: options.env ?? process.env,
    stdio: [options.stdin ?? "ignore", out, out],
    cwd: options.cwd,
  });
  started.add(child);
  child.once("exit", () => started.delete(child));
  return child;
}

/** Stops one process we started, by PID: SIGTERM, then SIGKILL after a grace period. */
export async function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = sleep(graceMs).then(() => "timeout" as const);
  if ((await Promise.race([exited, timer])) === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
}

/**
 * Last-resort cleanup on an unexpected exit: signals every process still recorded, by PID. SIGTERM,
 * not SIGKILL, so that nginx and HAProxy masters take their workers down with them.
 */
export function killAllStartedSync(): void {
  for (const child of started) {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
  }
  for (const pid of startedElsewhere) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // already gone
    }
  }
}

/** A free TCP port on 127.0.0.1, chosen by the kernel (port 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Waits until something accepts connections on the port; fails after timeoutMs. */
export async function waitForPort(port: number, what: string, child?: ChildProcess, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode}`);
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** Runs a short command to completion and returns its stdout; rejects on a non-zero exit. */
export function run(
  cmd: string,
  args: readonly string[],
  options: { cpu?: string | undefined; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const [file, argv] = pinned(options.cpu, cmd, args);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"], env: options.env ?? process.env });
    started.add(child);
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      started.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} exited with ${code ?? signal}: ${err.trim() || out.trim()}`));
    });
  });
}

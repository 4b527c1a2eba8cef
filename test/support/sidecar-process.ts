import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { builtMain, repoRoot } from "./built-main.js";

export interface SidecarProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  readonly proxyPort: number;
  readonly adminPort: number;
  /** Every stdout line so far, parsed (pino JSON). */
  readonly logs: Array<Record<string, unknown>>;
  stderr(): string;
  /** Resolves with the exit code and signal once the process has exited, and when (performance.now()). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** SIGKILL if still running (cleanup after a failed test). */
  kill(): void;
}

/**
 * `node main.js` (compiled from src/ by builtMain) as its own process on ephemeral ports, so that
 * RSS, SIGTERM and exit codes are the sidecar's own and not the test runner's.
 */
export async function startSidecarProcess(env: Record<string, string>): Promise<SidecarProcess> {
  const main = await builtMain();
  const child = spawn(process.execPath, [main], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      LISTEN_HOST: "127.0.0.1",
      PORT: "0",
      ADMIN_HOST: "127.0.0.1",
      ADMIN_PORT: "0",
      ...env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const logs: Array<Record<string, unknown>> = [];
  let partial = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    at: performance.now(),
  }));
  const listening = new Promise<{ proxy: string; admin: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 15 s: ${stderr}`)), 15_000);
    child.stdout.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") continue;
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "retry-sidecar listening") {
          clearTimeout(timer);
          resolve({ proxy: String(entry.proxy), admin: String(entry.admin) });
        }
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening: ${stderr}`));
    });
  });
  const { proxy, admin } = await listening.catch((error: unknown) => {
    child.kill("SIGKILL"); // never leave a sidecar behind when the test cannot use it
    throw error;
  });
  return {
    child,
    pid: child.pid as number,
    proxyPort: Number(proxy.split(":").at(-1)),
    adminPort: Number(admin.split(":").at(-1)),
    logs,
    stderr: () => stderr,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** One sample of the sidecar's own metrics, from its admin listener. */
export async function scrape(adminPort: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${adminPort}/metrics`);
  return response.text();
}

/** Sum of the samples of `name` whose labels include `labels` in a Prometheus text exposition. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[3] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]] as [string, string]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) sum += Number(match[4]);
  }
  return sum;
}

/** "ECONNREFUSED" when nothing listens on the port any more, "connected" otherwise. */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it; we release it at once). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port as number;
}

/**
 * `count` distinct free ports on 127.0.0.1: every listener stays open until all are picked, so the
 * kernel cannot hand the same ephemeral port out twice (PORT equal to ADMIN_PORT is a config error).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  for (const server of servers) {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
  }
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  for (const server of servers) {
    server.close();
    await once(server, "close");
  }
  return ports;
}

/** Polls `check` every `intervalMs` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

export interface FlakyUpstream {
  url: string;
  /** Requests received, in order. */
  received: { method: string; path: string; attempt: string | undefined }[];
  close(): Promise<void>;
}

/**
 * A billing service on 127.0.0.1 that fails every `failEvery`-th request with 503 (the first one
 * included), so that a sidecar in front of it retries and then succeeds. failEvery = 0: never fails.
 */
export async function startFlakyUpstream(failEvery = 2): Promise<FlakyUpstream> {
  const received: FlakyUpstream["received"] = [];
  const server: Server = createServer((req, res) => {
    const attempt = req.headers["x-attempt-count"];
    received.push({ method: req.method ?? "", path: req.url ?? "", attempt: attempt?.toString() });
    req.resume();
    req.on("end", () => {
      const fail = failEvery > 0 && (received.length - 1) % failEvery === 0;
      res.writeHead(fail ? 503 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify(fail ? { error: "try again" } : { ok: true }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

export interface RunningProcess {
  child: ChildProcess;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Spawns a long-running process (never through a shell) and keeps its output for diagnostics. */
export function startProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): RunningProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    child,
    output: () => output,
    stop: async (graceMs = 5_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}

export interface Sidecar extends RunningProcess {
  proxyUrl: string;
  adminUrl: string;
}

/** Env for a sidecar on loopback only, with short backoffs so that tests do not wait. */
export async function sidecarEnv(
  upstreamUrl: string,
  extra: NodeJS.ProcessEnv = {},
): Promise<NodeJS.ProcessEnv> {
  const [port, adminPort] = await freePorts(2);
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    UPSTREAM_URL: upstreamUrl,
    LISTEN_HOST: "127.0.0.1",
    PORT: String(port),
    ADMIN_HOST: "127.0.0.1",
    ADMIN_PORT: String(adminPort),
    BACKOFF_BASE_MS: "5",
    BACKOFF_MAX_MS: "20",
    SHUTDOWN_GRACE_MS: "1000",
    LOG_LEVEL: "warn",
    ...extra,
  };
}

/** Runs `node <main>` like the image's ENTRYPOINT and waits for /healthz. */
export async function startSidecar(main: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Sidecar> {
  const proc = startProcess(process.execPath, [main], { cwd, env });
  const proxyUrl = `http://127.0.0.1:${env.PORT}`;
  const adminUrl = `http://127.0.0.1:${env.ADMIN_PORT}`;
  try {
    const outcome = await waitFor("the sidecar's /healthz", async () => {
      if (proc.child.exitCode !== null) return `exited with code ${proc.child.exitCode}`;
      const res = await fetch(`${adminUrl}/healthz`);
      return res.status === 200 ? "up" : undefined;
    });
    if (outcome !== "up") throw new Error(outcome);
  } catch (error) {
    await proc.stop();
    throw new Error(`sidecar did not start:\n${proc.output()}`, { cause: error });
  }
  return { ...proc, proxyUrl, adminUrl };
}

/** Sends `count` POST /provider requests one after the other; returns the status codes. */
export async function sendRequests(proxyUrl: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${proxyUrl}/provider`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ n: i }),
      signal: AbortSignal.timeout(5_000),
    });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

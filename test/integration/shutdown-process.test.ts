import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { type AddressInfo, connect, createServer } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { builtMain, repoRoot } from "../support/built-main.js";
import { type FakeUpstream, startFakeUpstream } from "../support/fake-upstream.js";

// SPEC.md "Shutdown" with the real process (`node dist/main.js`, compiled by builtMain) and real
// signals: /readyz 503 during the drain, the in-flight request gets its real answer, new
// connections are refused, exit code 0; requests still running at the end of SHUTDOWN_GRACE_MS
// are aborted and the process still exits 0 right after.

interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  readonly proxyPort: number;
  readonly adminPort: number;
  readonly stdout: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

let main: string;
let upstream: FakeUpstream;
const children = new Set<ChildProcessWithoutNullStreams>();

beforeAll(async () => {
  main = await builtMain();
}, 60_000);
afterEach(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
  await upstream?.close();
});
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** Starts the sidecar on ephemeral ports; the ports come from its "listening" log line. */
async function startProcess(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, [main], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      UPSTREAM_URL: upstream.url,
      PORT: "0",
      ADMIN_PORT: "0",
      ADMIN_HOST: "127.0.0.1",
      ...env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(child);
  let stdout = "";
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
    const timer = setTimeout(
      () => reject(new Error(`no "listening" line within 10 s:\n${stdout}${stderr}`)),
      10_000,
    );
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const match = /"proxy":"127\.0\.0\.1:(\d+)","admin":"127\.0\.0\.1:(\d+)"/.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolve({ proxy: match[1] as string, admin: match[2] as string });
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${stdout}${stderr}`));
    });
  });
  const ports = await listening;
  return {
    child,
    proxyPort: Number(ports.proxy),
    adminPort: Number(ports.admin),
    stdout: () => stdout,
    exited,
  };
}

async function readyz(p: Running): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${p.adminPort}/readyz`);
  await res.arrayBuffer();
  return res.status;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
  });
}

describe.each(["SIGTERM", "SIGINT"] as const)("%s", (signal) => {
  it("drains: readyz 503, new connections refused, the in-flight request answered, exit 0", async () => {
    upstream = await startFakeUpstream({ status: 201, body: "real answer", delayMs: 500 });
    // SIGINT: on the ports given in PORT / ADMIN_PORT (SIGTERM: ephemeral ones).
    const ports: Record<string, string> =
      signal === "SIGINT" ? { PORT: String(await freePort()), ADMIN_PORT: String(await freePort()) } : {};
    const p = await startProcess(ports);
    if (signal === "SIGINT")
      expect([String(p.proxyPort), String(p.adminPort)]).toEqual([ports.PORT, ports.ADMIN_PORT]);
    expect(await readyz(p)).toBe(200);
    const inFlight = fetch(`http://127.0.0.1:${p.proxyPort}/provider`, {
      method: "POST",
      body: "{}",
      headers: { "x-request-id": "drain-1" },
    });
    await upstream.waitForRequests(1);
    p.child.kill(signal);

    // readyz turns 503 as soon as the signal is handled (bounded poll: the signal is async).
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) status = await readyz(p);
    expect(status).toBe(503);
    expect(await tryConnect(p.proxyPort)).toBe("ECONNREFUSED");

    const res = await inFlight;
    expect(res.status).toBe(201);
    expect(await res.text()).toBe("real answer");
    const exit = await p.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });

    // Logs: JSON, one object per line on stdout, the request included.
    const lines = p
      .stdout()
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === "request completed")).toMatchObject({ reqId: "drain-1", status: 201 });
    expect(lines.map((l) => l.msg)).toContain("shutdown requested");
  });

  it("aborts a hanging request at the end of SHUTDOWN_GRACE_MS and still exits 0 promptly", async () => {
    upstream = await startFakeUpstream({ status: 201, body: "too late", delayMs: 10_000 });
    const p = await startProcess({ SHUTDOWN_GRACE_MS: "200", PER_TRY_TIMEOUT_MS: "20000" });
    const inFlight = fetch(`http://127.0.0.1:${p.proxyPort}/provider`).then(
      (res) => `status ${res.status}`,
      (error: Error) => error.name,
    );
    await upstream.waitForRequests(1);
    const signalledAt = performance.now();
    p.child.kill(signal);
    const exit = await p.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    const took = exit.at - signalledAt;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(200 + 1000);
    expect(await inFlight).toBe("TypeError"); // the connection closed without an answer
    expect(await upstream.closed(0)).toBe("aborted");
  });
});

import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "../support/fake-upstream.js";
import { repoRoot } from "./helpers/paths.js";
import { freePorts, type RunningProcess, startProcess, waitFor } from "./helpers/processes.js";

// `npm start` (docs/contract.md "Running it") is what a developer or a process manager runs, and
// both stop it with SIGTERM to the process they started: npm. npm forwards SIGTERM to the script's
// process and waits for it; the start script `exec`s node, so that process is the sidecar itself
// and not a shell that would die and leave node running. This test signals npm only.

let npm: RunningProcess | undefined;
let upstream: FakeUpstream | undefined;
let sidecarPid: number | undefined;
afterEach(async () => {
  await npm?.stop(1_000);
  npm = undefined;
  // Never leave a sidecar behind, even when an assertion failed.
  if (sidecarPid !== undefined && alive(sidecarPid)) process.kill(sidecarPid, "SIGKILL");
  sidecarPid = undefined;
  await upstream?.close();
  upstream = undefined;
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The parsed JSON log lines in npm's output (npm's own banner lines are not JSON). */
function logLines(output: string): Array<Record<string, unknown>> {
  return output.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** The parent pid of a process, from /proc/PID/stat (the field after the parenthesised name). */
function parentPid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
}

async function readyz(adminUrl: string): Promise<number> {
  const res = await fetch(`${adminUrl}/readyz`);
  await res.arrayBuffer();
  return res.status;
}

describe.skipIf(process.platform !== "linux")("npm start", () => {
  it("runs the sidecar as npm's own child, which drains and exits on SIGTERM to npm", async () => {
    upstream = await startFakeUpstream({ status: 201, body: "slow answer", delayMs: 1_500 });
    const [port, adminPort] = await freePorts(2);
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    npm = startProcess("npm", ["start"], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        UPSTREAM_URL: upstream.url,
        PORT: String(port),
        ADMIN_PORT: String(adminPort),
        ADMIN_HOST: "127.0.0.1",
      },
    });
    const proc = npm;
    // `prestart` builds first (tsc): allow it time.
    const listening = await waitFor(
      'npm start to log "retry-sidecar listening" and serve /readyz',
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`npm exited early:\n${proc.output()}`);
        // pino writes asynchronously: the "listening" line can trail the first /readyz answer.
        const listening = logLines(proc.output()).find((l) => l.msg === "retry-sidecar listening");
        return listening && (await readyz(adminUrl)) === 200 ? listening : undefined;
      },
      90_000,
      250,
    );
    const pid = Number(listening.pid);
    sidecarPid = pid;
    // No shell in between: the sidecar is npm's direct child, with the start script's settings.
    expect(parentPid(pid)).toBe(proc.child.pid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    expect(argv).toContain("--max-semi-space-size=4");
    expect(argv).toContain("--no-maglev");
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    expect(environ).toContain("MALLOC_ARENA_MAX=2");
    expect(environ).toContain("MALLOC_MMAP_THRESHOLD_=131072");

    // One request in flight, so the drain lasts long enough to be seen.
    const inFlight = fetch(`http://127.0.0.1:${port}/provider`, { method: "POST", body: "{}" });
    await upstream.waitForRequests(1);
    proc.child.kill("SIGTERM");

    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) status = await readyz(adminUrl);
    expect(status, "/readyz while draining").toBe(503);
    const res = await inFlight;
    expect(res.status).toBe(201);
    expect(await res.text()).toBe("slow answer");

    await waitFor("npm to exit", async () => (proc.child.exitCode !== null ? true : undefined), 20_000);
    const code = await proc.stop();
    expect(code, proc.output()).toBe(0);
    const messages = logLines(proc.output()).map((l) => l.msg);
    expect(messages).toContain("draining");
    expect(messages).toContain("stopped");
    expect(alive(pid), `sidecar pid ${pid} still running after npm exited`).toBe(false);
  });
});

import { join } from "node:path";
import { freePort, startProcess, stopProcess, waitForPort } from "../lib/procs.js";
import { raisePriority } from "./priority.js";

// One real sidecar process per pod (`node dist/main.js`), each on its own proxy and admin port on
// 127.0.0.1, with its log in a file of its own.

export interface SidecarPod {
  port: number;
  adminPort: number;
  stop(): Promise<void>;
}

async function startOne(main: string, env: Record<string, string>, logFile: string): Promise<SidecarPod> {
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    const adminPort = await freePort();
    const child = startProcess(process.execPath, [main], {
      env: {
        PATH: process.env.PATH ?? "",
        LISTEN_HOST: "127.0.0.1",
        PORT: String(port),
        ADMIN_HOST: "127.0.0.1",
        ADMIN_PORT: String(adminPort),
        // A log line per retried request would cost the shared CPU more than the traffic itself.
        LOG_REQUESTS: "none",
        ...env,
      },
      stdoutFile: logFile,
    });
    if (child.pid !== undefined) raisePriority(child.pid);
    try {
      await waitForPort(port, "a fleet sidecar", child, 30_000);
      await waitForPort(adminPort, "a fleet sidecar's admin listener", child, 30_000);
      return { port, adminPort, stop: () => stopProcess(child) };
    } catch (error) {
      await stopProcess(child);
      // Another process can take a free port between the probe and the sidecar's bind.
      if (tries >= 3) throw error;
    }
  }
}

/** `count` sidecars with the same settings, started a few at a time (the machine is shared). */
export async function startSidecars(
  main: string,
  count: number,
  env: Record<string, string>,
  logDir: string,
  label: string,
): Promise<SidecarPod[]> {
  const pods: SidecarPod[] = [];
  try {
    for (let first = 0; first < count; first += 10) {
      const batch = Array.from({ length: Math.min(10, count - first) }, (_, i) =>
        startOne(main, env, join(logDir, `${label}-pod${first + i}.log`)),
      );
      const settled = await Promise.allSettled(batch);
      for (const result of settled) if (result.status === "fulfilled") pods.push(result.value);
      const failed = settled.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    return pods;
  } catch (error) {
    await stopSidecars(pods);
    throw error;
  }
}

export async function stopSidecars(pods: readonly SidecarPod[]): Promise<void> {
  await Promise.all(pods.map((pod) => pod.stop()));
}

/** The sum of `retry_sidecar_upstream_attempts_total` over the pods (every route and outcome). */
export async function sidecarAttempts(pods: readonly SidecarPod[]): Promise<number> {
  const texts = await Promise.all(
    pods.map(async (pod) => (await fetch(`http://127.0.0.1:${pod.adminPort}/metrics`)).text()),
  );
  let sum = 0;
  for (const text of texts) {
    for (const line of text.split("\n")) {
      if (line.startsWith("retry_sidecar_upstream_attempts_total")) sum += Number(line.split(" ").at(-1));
    }
  }
  return sum;
}

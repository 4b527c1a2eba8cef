import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { rememberPid, stopProcess } from "../lib/procs.js";
import type { UpstreamModel } from "./scenarios.js";

// The harness's handle on billing's process (upstream-main.ts).

export interface UpstreamStats {
  attempts: number;
  perSecond: number[];
  perInstance: Record<string, number>;
  /** The seconds of the load in which billing's event loop stalled (StallWatch). */
  stallSeconds: number[];
  [extra: string]: unknown;
}

export interface UpstreamProcess {
  host: string;
  port: number;
  /** The three instance addresses (headless); the app and the DNS server use them. */
  addresses?: string[];
  start(): Promise<void>;
  stats(): Promise<UpstreamStats>;
  stop(): Promise<void>;
}

export async function startUpstreamProcess(
  buildDir: string,
  model: UpstreamModel,
  seed: number,
): Promise<UpstreamProcess> {
  // Its stdout carries the one "ready" line; stderr shows through (it writes only when it fails).
  const child = spawn(
    process.execPath,
    [join(buildDir, "fleet", "upstream-main.js"), JSON.stringify({ model, seed })],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const forget = rememberPid(child.pid);
  const stop = async () => {
    await stopProcess(child);
    forget();
  };
  try {
    const lines = createInterface({ input: child.stdout });
    const first = (await Promise.race([
      once(lines, "line"),
      once(child, "exit").then(() => {
        throw new Error("the fleet upstream exited before listening");
      }),
    ])) as [string];
    const ready = JSON.parse(first[0]) as {
      host: string;
      port: number;
      addresses?: string[];
      control: number;
    };
    const control = `http://127.0.0.1:${ready.control}`;
    return {
      host: ready.host,
      port: ready.port,
      ...(ready.addresses ? { addresses: ready.addresses } : {}),
      start: async () => {
        await (await fetch(`${control}/start`, { method: "POST" })).text();
      },
      stats: async () => (await (await fetch(`${control}/stats`)).json()) as UpstreamStats,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

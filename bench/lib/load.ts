import { join } from "node:path";
import { run } from "./procs.js";
import { REQUEST_BODY } from "./wrk.js";

export interface OpenLoopResult {
  target: number;
  sent: number;
  skipped: number;
  completed: number;
  completedAll: number;
  unfinished: number;
  errors: number;
  statuses: Record<string, number>;
  achievedRate: number;
  maxInFlight: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  lagP99Us: number;
}

/** Runs the fixed-rate generator (load/open-loop.js beside this build) in its own process. */
export async function openLoop(options: {
  buildDir: string;
  url: string;
  rate: number;
  seconds: number;
  cpu: string | undefined;
  headers?: Record<string, string>;
  /** Unmeasured lead-in at the same rate (default 0: every request counts). */
  warmSeconds?: number;
}): Promise<OpenLoopResult> {
  const args = JSON.stringify({
    url: options.url,
    rate: options.rate,
    seconds: options.seconds,
    body: REQUEST_BODY,
    headers: options.headers ?? {},
    warmSeconds: options.warmSeconds ?? 0,
  });
  const out = await run(process.execPath, [join(options.buildDir, "load", "open-loop.js"), args], {
    cpu: options.cpu,
    timeoutMs: (options.seconds + 30) * 1000,
  });
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as OpenLoopResult;
}

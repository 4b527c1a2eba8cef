import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, startProcess, stopProcess, waitForPort } from "../lib/procs.js";
import { has } from "../lib/setup.js";

// HAProxy at billing's door (the `haproxy-sheds-breaker-30` row): billing unchanged, its queue
// moved to a proxy in front of it that bounds how long an attempt waits its turn. The simulator's
// `queueAtTheDoor` (sim/lib/upstreams.ts) is the same model.

export interface DoorOptions {
  /** Attempts at billing at once: its workers, so that billing's own queue stays empty. */
  readonly maxConn: number;
  /** An attempt that waited this long for its turn is answered 503 (HAProxy's `timeout queue`). */
  readonly queueTimeoutMs: number;
  /** The `Retry-After` of that 503, in seconds. */
  readonly retryAfterS: number;
}

/**
 * One HAProxy thread. `option abortonclose` drops a waiting attempt whose caller left, so billing
 * never works for it; `retries 0`: the door does not retry, the sidecars do. `bindHost` "" binds
 * every address, as in billing's pod (k8s/examples/billing-door/haproxy.cfg is this, for a pod).
 */
export function doorConfig(
  port: number,
  billing: { host: string; port: number },
  o: DoorOptions,
  bindHost = "127.0.0.1",
): string {
  return `global
  nbthread 1
  maxconn 4096

defaults
  mode http
  retries 0
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout queue ${o.queueTimeoutMs}ms
  timeout http-keep-alive 60s
  option abortonclose

frontend door
  bind ${bindHost}:${port}
  default_backend billing

backend billing
  http-after-response set-header Retry-After ${o.retryAfterS} if { status 503 }
  server billing ${billing.host}:${billing.port} maxconn ${o.maxConn}
`;
}

export function haproxyInstalled(): boolean {
  return has("haproxy");
}

export interface Door {
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts HAProxy in the foreground (`-db`) in front of billing; stopped by its PID. */
export async function startDoor(
  dir: string,
  name: string,
  billing: { host: string; port: number },
  options: DoorOptions,
): Promise<Door> {
  const port = await freePort();
  const file = join(dir, `${name}-haproxy.cfg`);
  writeFileSync(file, doorConfig(port, billing, options));
  const child = startProcess("haproxy", ["-db", "-f", file], {
    stdoutFile: join(dir, `${name}-haproxy.out`),
  });
  const stop = () => stopProcess(child);
  try {
    await waitForPort(port, "haproxy", child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: "127.0.0.1", port, stop };
}

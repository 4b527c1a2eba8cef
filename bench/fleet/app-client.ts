import { Agent, request } from "node:http";
import type { LookupFunction } from "node:net";

// The app in each pod: `POST /provider` with a small JSON body, its own timeout, and (naive-3x)
// its own loop of immediate retries. Each pod has its own keep-alive connection pool, as its own
// process would.

export interface AppTarget {
  /** What the URL names: an address, or the headless Service's name. */
  host: string;
  port: number;
  /** Headless, without a sidecar: each new connection goes to the next address, as DNS round-robin. */
  addresses?: readonly string[];
}

export interface AppOptions {
  target: AppTarget;
  /** 1: one attempt; 4: the naive loop's first attempt and 3 immediate retries. */
  attempts: number;
  /** Per-try timeout of the naive loop (the sidecar's PER_TRY_TIMEOUT_MS of the scenario). */
  perTryTimeoutMs: number;
  appTimeoutMs: number;
  /** Called when an attempt starts (for attempts counted on the app's side). */
  onAttempt: () => void;
}

export interface AppAnswer {
  /** The last status received; undefined when no answer came (timeout, connection error). */
  status: number | undefined;
}

function roundRobinLookup(addresses: readonly string[]): LookupFunction {
  let next = 0;
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    const address = addresses[next++ % addresses.length] as string;
    if (options.all) callback(null, [{ address, family: 4 }]);
    else callback(null, address, 4);
  }) as unknown as LookupFunction;
}

/** One HTTP attempt; resolves with the status, or undefined on a timeout or a connection error. */
function attempt(
  agent: Agent,
  options: AppOptions,
  lookup: LookupFunction | undefined,
  name: string,
  timeoutMs: number,
) {
  return new Promise<number | undefined>((resolve) => {
    const body = JSON.stringify({ name });
    const req = request({
      host: options.target.host,
      port: options.target.port,
      path: "/provider",
      method: "POST",
      agent,
      ...(lookup ? { lookup } : {}),
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    const timer = setTimeout(() => req.destroy(new Error("app timeout")), Math.max(1, timeoutMs));
    req.once("response", (res) => {
      res.resume();
      res.once("end", () => {
        clearTimeout(timer);
        resolve(res.statusCode);
      });
      res.once("error", () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    req.once("error", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    req.end(body);
  });
}

export interface App {
  call(name: string): Promise<AppAnswer>;
  close(): void;
}

export function createApp(options: AppOptions): App {
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const lookup = options.target.addresses ? roundRobinLookup(options.target.addresses) : undefined;
  return {
    async call(name) {
      const until = performance.now() + options.appTimeoutMs;
      let status: number | undefined;
      for (let n = 1; n <= options.attempts; n++) {
        const left = until - performance.now();
        // Under a millisecond left is none: node's timer for the last try can fire a fraction of a
        // millisecond before the deadline, and a try with 1 ms would still reach billing.
        if (left < 1) break;
        const timeout = options.attempts === 1 ? left : Math.min(options.perTryTimeoutMs, left);
        options.onAttempt();
        status = await attempt(agent, options, lookup, name, timeout);
        // The naive loop retries 5xx, timeouts and connection errors at once, nothing else.
        if (status !== undefined && status < 500) break;
      }
      return { status };
    },
    close: () => agent.destroy(),
  };
}

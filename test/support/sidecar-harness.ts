import { Writable } from "node:stream";
import { loadConfig } from "../../src/config/load-config.js";
import { type Sidecar, type SidecarOverrides, startSidecar } from "../../src/sidecar.js";

export interface LogLine {
  readonly msg: string;
  readonly level: string;
  readonly [field: string]: unknown;
}

export interface Harness {
  readonly sidecar: Sidecar;
  /** http://127.0.0.1:<proxy port> */
  readonly url: string;
  readonly adminUrl: string;
  /** Every pino line the sidecar wrote, parsed. */
  readonly logs: LogLine[];
  /** The current value of one metric series (0 when it does not exist yet). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Resolves with the first log line (already written or still to come) that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  close(): Promise<void>;
}

/**
 * The real sidecar, in this process, on ephemeral ports of 127.0.0.1, configured through the
 * same environment variables as in production (`env` overrides the defaults).
 */
export async function startHarness(
  env: Record<string, string>,
  overrides: SidecarOverrides = {},
): Promise<Harness> {
  const config = loadConfig({ PORT: "0", ADMIN_PORT: "0", ADMIN_HOST: "127.0.0.1", ...env });
  const logs: LogLine[] = [];
  const logWaiters = new Set<(line: LogLine) => void>();
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString("utf8").split("\n")) {
        if (text === "") continue;
        const line = JSON.parse(text) as LogLine;
        logs.push(line);
        for (const waiter of logWaiters) waiter(line);
      }
      callback();
    },
  });
  const sidecar = await startSidecar(config, { logDestination, ...overrides });
  return {
    sidecar,
    url: `http://127.0.0.1:${sidecar.proxyPort}`,
    adminUrl: `http://127.0.0.1:${sidecar.adminPort}`,
    logs,
    async metric(name, labels = {}) {
      const metric = sidecar.metrics.registry.getSingleMetric(name);
      if (metric === undefined) throw new Error(`no metric ${name}`);
      const data = await metric.get();
      const wanted = Object.entries(labels);
      return data.values
        .filter(
          (v) =>
            (v as { metricName?: string }).metricName === undefined ||
            (v as { metricName?: string }).metricName === name,
        )
        .filter((v) => wanted.every(([key, value]) => String(v.labels[key]) === value))
        .reduce((sum, v) => sum + v.value, 0);
    },
    waitForLog(match, timeoutMs = 5000) {
      const found = logs.find(match);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<LogLine>((resolve, reject) => {
        const waiter = (line: LogLine) => {
          if (!match(line)) return;
          clearTimeout(timer);
          logWaiters.delete(waiter);
          resolve(line);
        };
        const timer = setTimeout(() => {
          logWaiters.delete(waiter);
          reject(new Error(`no matching log line within ${timeoutMs} ms`));
        }, timeoutMs);
        logWaiters.add(waiter);
      });
    },
    close: () => sidecar.shutdown(),
  };
}

import { Writable } from "node:stream";
import { loadConfig } from "../../src/config/load-config.js";
import { type Sidecar, type SidecarOverrides, startSidecar } from "../../src/sidecar.js";

export interface LogLine {
  readonly msg: string;
  readonly level: number;
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
  const logDestination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString("utf8").split("\n")) if (line !== "") logs.push(JSON.parse(line));
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
    close: () => sidecar.shutdown(),
  };
}

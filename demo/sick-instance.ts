import { closeSync, openSync, writeSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { loadConfig } from "../src/config/load-config.js";
import { startSidecar } from "../src/sidecar.js";
import { type Dnsmasq, dnsmasqInstalled, startDnsmasq } from "./dnsmasq.js";
import { type FlakyBilling, startFlakyBilling } from "./flaky-billing.js";
import { type RequestResult, runLoad } from "./load-client.js";
import { type EndpointsPart, type EndpointsRun, summarize } from "./report.js";
import { startTcpRoundRobin } from "./tcp-round-robin.js";

// The demo's second part: billing runs as three instances on 127.0.0.2, .3 and .4 (one port, as
// the pods of a Service), and one of them is sick: it answers 503 to everything. The app (a naive
// retry loop on its kept-alive connection) and the sidecar meet it twice: behind the three
// addresses of a headless Service, resolved by a real DNS server (dnsmasq), and behind the one
// address of a connection-level balancer (a TCP round-robin, the way kube-proxy serves a ClusterIP).

export const INSTANCES = ["127.0.0.2", "127.0.0.3", "127.0.0.4"] as const;
export const SICK = "127.0.0.3";
const NAME = "billing.test";

export interface SickInstanceOptions {
  readonly seed: number;
  readonly load: { readonly requests: number; readonly concurrency: number; readonly timeoutMs: number };
  /** How many times the app tries again itself. */
  readonly appRetries: number;
  /** The sidecar's settings (listeners and tuning); UPSTREAM_URL and DNS are set here. */
  readonly sidecarEnv: Readonly<Record<string, string>>;
  /** Where the sidecar's JSON log lines go (appended). */
  readonly logPath: string;
  /** Progress lines ("ran ... in 0.4 s"). */
  readonly progress: (line: string) => void;
}

/** Both cases; the headless one is undefined when dnsmasq is not installed. */
export async function runSickInstance(
  options: SickInstanceOptions,
): Promise<{ headless: EndpointsPart | undefined; clusterIp: EndpointsPart }> {
  const headless = dnsmasqInstalled() ? await headlessCase(options) : undefined;
  const clusterIp = await clusterIpCase(options);
  return { headless, clusterIp };
}

/** Three billing instances on one port, the sick one answering 503 to every request. */
async function startInstances(seed: number): Promise<FlakyBilling[]> {
  const instances: FlakyBilling[] = [];
  let port = 0;
  for (const host of INSTANCES) {
    const instance = await startFlakyBilling({
      seed,
      host,
      port,
      decide: () => (host === SICK ? "503" : "none"),
    });
    port = instance.port;
    instances.push(instance);
  }
  return instances;
}

async function headlessCase(options: SickInstanceOptions): Promise<EndpointsPart> {
  const dnsmasq: Dnsmasq = await startDnsmasq({ [NAME]: INSTANCES });
  try {
    // The app opens each worker's connection to the next address in turn, as DNS round-robin
    // spreads the connections of a client that resolves for each.
    const app = await measure(`app retries ${options.appRetries}×`, options, ({ port }) =>
      runLoad({
        ...options.load,
        url: `http://${NAME}:${port}`,
        appRetries: options.appRetries,
        workerOrigin: (worker) => `http://${INSTANCES[worker % INSTANCES.length]}:${port}`,
      }),
    );
    const sidecar = await measureSidecar(options, async (port) => ({
      env: { UPSTREAM_URL: `http://${NAME}:${port}`, UPSTREAM_DNS_SERVERS: dnsmasq.server },
      close: async () => {},
    }));
    return {
      title: `three addresses: ${NAME} resolves to ${INSTANCES.join(", ")} (a headless Service)`,
      runs: [app, sidecar.run],
      ejection: sidecar.ejection,
    };
  } finally {
    await dnsmasq.stop();
  }
}

async function clusterIpCase(options: SickInstanceOptions): Promise<EndpointsPart> {
  // The balancer hands connections to the instances in turn; a new one per run, so that each
  // run begins with the same turn.
  const app = await measure(`app retries ${options.appRetries}×`, options, async ({ port }) => {
    const balancer = await startTcpRoundRobin(INSTANCES.map((host) => ({ host, port })));
    try {
      const url = `http://${balancer.host}:${balancer.port}`;
      return await runLoad({ ...options.load, url, appRetries: options.appRetries, workerOrigin: () => url });
    } finally {
      await balancer.close();
    }
  });
  const sidecar = await measureSidecar(options, async (port) => {
    const balancer = await startTcpRoundRobin(INSTANCES.map((host) => ({ host, port })));
    return {
      env: { UPSTREAM_URL: `http://${balancer.host}:${balancer.port}` },
      close: () => balancer.close(),
    };
  });
  return {
    title: "one address: a TCP round-robin in front of the three (a ClusterIP Service)",
    runs: [app, sidecar.run],
    ejection: sidecar.ejection,
  };
}

interface Instances {
  readonly port: number;
  readonly sick: FlakyBilling;
}

/** One run against three fresh instances. */
async function measure(
  label: string,
  options: SickInstanceOptions,
  load: (instances: Instances) => Promise<RequestResult[]>,
): Promise<EndpointsRun> {
  const instances = await startInstances(options.seed);
  const sick = instances.find((i) => i.host === SICK) as FlakyBilling;
  try {
    const started = performance.now();
    const results = await load({ port: sick.port, sick });
    options.progress(`  ran "${label}" in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const attempts = instances.reduce((sum, i) => sum + i.stats.attempts, 0);
    const duplicates = instances.reduce((sum, i) => sum + i.stats.duplicates, 0);
    return { ...summarize(label, results, { attempts, duplicates }), sickAttempts: sick.stats.attempts };
  } finally {
    await Promise.all(instances.map((i) => i.close()));
  }
}

/** A run through the sidecar; `target` gives its upstream settings for the instances' port. */
async function measureSidecar(
  options: SickInstanceOptions,
  target: (port: number) => Promise<{ env: Record<string, string>; close: () => Promise<void> }>,
): Promise<{ run: EndpointsRun; ejection: EndpointsPart["ejection"] }> {
  const logFd = openSync(options.logPath, "a");
  let ejection: { at: number; sickAttempts: number } | undefined;
  let loadStartedAt = 0;
  try {
    const run = await measure("with sidecar", options, async ({ port, sick }) => {
      const upstream = await target(port);
      try {
        const config = loadConfig({ ...options.sidecarEnv, ...upstream.env });
        const sidecar = await startSidecar(config, {
          logDestination: {
            write: (line: string) => {
              writeSync(logFd, line);
              // The first ejection: when, and how many attempts the sick instance had got by then.
              if (ejection === undefined && line.includes('"msg":"endpoint ejected"')) {
                ejection = { at: performance.now(), sickAttempts: sick.stats.attempts };
              }
            },
          },
        });
        try {
          loadStartedAt = performance.now();
          return await runLoad({ ...options.load, url: `http://127.0.0.1:${sidecar.proxyPort}` });
        } finally {
          await sidecar.shutdown();
        }
      } finally {
        await upstream.close();
      }
    });
    const seen = ejection as { at: number; sickAttempts: number } | undefined;
    return {
      run,
      ejection:
        seen === undefined
          ? undefined
          : { afterMs: seen.at - loadStartedAt, sickAttempts: seen.sickAttempts },
    };
  } finally {
    closeSync(logFd);
  }
}

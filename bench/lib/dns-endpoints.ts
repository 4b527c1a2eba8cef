import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { dnsmasqInstalled, startDnsmasq } from "../../demo/dnsmasq.js";
import { EXTRA_UPSTREAM_ADDRESSES } from "./nginx.js";
import { rememberPid } from "./procs.js";

// The `sidecar-3ep` row's DNS: the demo's and the tests' dnsmasq helper (one copy, in demo/), on a
// free loopback port, answering one name with the upstream's three extra loopback addresses. The
// sidecar then has three endpoints where the `sidecar` row (an IP address) has one.

export { dnsmasqInstalled };

/** The name UPSTREAM_URL gives in the three-endpoint row. */
export const THREE_ENDPOINT_HOST = "billing.bench";

export interface BenchDns {
  /** UPSTREAM_URL (the name, the upstream's port) and UPSTREAM_DNS_SERVERS (this dnsmasq). */
  env: Record<string, string>;
  stop: () => Promise<void>;
}

export async function startBenchDns(upstreamPort: number): Promise<BenchDns> {
  const dns = await startDnsmasq({ [THREE_ENDPOINT_HOST]: EXTRA_UPSTREAM_ADDRESSES });
  // An abrupt exit of the bench (a signal) stops it by PID with the processes the bench spawned.
  const forget = rememberPid(dns.pid);
  return {
    env: {
      UPSTREAM_URL: `http://${THREE_ENDPOINT_HOST}:${upstreamPort}`,
      UPSTREAM_DNS_SERVERS: dns.server,
    },
    stop: async () => {
      await dns.stop();
      forget();
    },
  };
}

interface EndpointView {
  endpoints?: { address?: string; state?: string }[];
}

/**
 * Waits until the sidecar's `GET /endpoints` lists `count` active endpoints (it resolves the name
 * at start-up): a row that measured one endpoint under the three-endpoint label would be wrong.
 */
export async function waitForActiveEndpoints(adminPort: number, count: number, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let seen = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${adminPort}/endpoints`);
      const view = (await res.json()) as EndpointView;
      const active = (view.endpoints ?? []).filter((e) => e.state === "active").map((e) => e.address);
      seen = active.join(", ");
      if (active.length === count) return active;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`the sidecar did not list ${count} active endpoints (last seen: ${seen || "none"})`);
}

/** Counts the `request completed` log lines of a sidecar's log per `endpoint` field. */
export async function requestsPerEndpoint(logFile: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(logFile), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.includes('"msg":"request completed"')) continue;
    const endpoint = /"endpoint":"([^"]+)"/.exec(line)?.[1];
    if (endpoint !== undefined) counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1);
  }
  return counts;
}

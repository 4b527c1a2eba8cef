import { promises as dns } from "node:dns";

/** Resolves a host name to all its addresses (no brackets). Rejects when the lookup fails. */
export type ResolveHost = (host: string) => Promise<string[]>;

// With UPSTREAM_DNS_SERVERS: each query waits this long for an answer, this many times, so a
// resolution that gets no answer gives up in about two seconds (the refresh runs every 5 s).
const QUERY_TIMEOUT_MS = 1000;
const QUERY_TRIES = 2;

/**
 * The system resolver, as getaddrinfo(3) answers: /etc/hosts, /etc/nsswitch.conf and the `search`
 * domains of /etc/resolv.conf apply (in Kubernetes, `billing` finds `billing.default.svc...`).
 * `verbatim`: the addresses in the resolver's order, IPv4 and IPv6 alike.
 */
export const systemResolve: ResolveHost = async (host) => {
  const found = await dns.lookup(host, { all: true, order: "verbatim" });
  return unique(found.map((entry) => entry.address));
};

/**
 * Asks the given servers (`ip`, `ip:port`, `[ipv6]:port`) for the A and AAAA records of the name,
 * as it is (no search domains, no /etc/hosts). Either family may be missing (a name with only A
 * records answers AAAA with no data); it fails only when neither query gave an address and one
 * of them failed.
 */
export function serversResolve(servers: readonly string[]): ResolveHost {
  const resolver = new dns.Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
  resolver.setServers([...servers]);
  return async (host) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const addresses = [
      ...(v4.status === "fulfilled" ? v4.value : []),
      ...(v6.status === "fulfilled" ? v6.value : []),
    ];
    if (addresses.length > 0) return unique(addresses);
    const failed = [v4, v6].find((r) => r.status === "rejected" && !isNoData(r.reason));
    if (failed?.status === "rejected") throw failed.reason;
    return [];
  };
}

// ENODATA: the name exists but has no record of this type, which is an answer, not a failure.
function isNoData(error: unknown): boolean {
  return (error as { code?: unknown })?.code === dns.NODATA;
}

function unique(addresses: string[]): string[] {
  return [...new Set(addresses)];
}

import { z } from "zod";
import { fleetSettings } from "./fleet-settings.js";
import {
  decimal,
  dnsServers,
  headerName,
  host,
  integer,
  jitter,
  logLevel,
  oneOf,
  routes,
  statusList,
  upstreamUrl,
} from "./parsers.js";

/**
 * Every setting, in one place: the environment variable, its default (as the string an operator
 * would write), a one-line meaning for `--help`, and the parser. The defaults are the contract of
 * docs/contract.md "Configuration"; units are in the names.
 */
export const settings = {
  UPSTREAM_URL: {
    key: "upstreamUrl",
    default: "http://127.0.0.1:5002",
    help: "where requests go: http or https, a host, an optional port and an optional base path that is put in front of every forwarded path",
    parse: upstreamUrl,
  },
  UPSTREAM_CA_FILE: {
    key: "upstreamCaFile",
    default: "",
    help: "PEM file of certificate authorities trusted for an https upstream, in addition to the system's CAs (the operating system's store, on Node 22.15 or later: the image's 24) and those Node.js trusts by default (on Node 20, only these)",
    parse: z.string().transform((s) => s.trim()),
  },
  LISTEN_HOST: {
    key: "listenHost",
    default: "127.0.0.1",
    help: "address of the proxy listener; loopback means only containers of the same pod can reach it",
    parse: host,
  },
  PORT: {
    key: "port",
    default: "8080",
    help: "port of the proxy listener; 0 picks a free one",
    parse: integer(0, 65535, "a port"),
  },
  ADMIN_HOST: {
    key: "adminHost",
    default: "0.0.0.0",
    help: "address of the admin listener, which the kubelet's probes and Prometheus must reach",
    parse: host,
  },
  ADMIN_PORT: {
    key: "adminPort",
    default: "9464",
    help: "port of the admin listener; 0 picks a free one",
    parse: integer(0, 65535, "a port"),
  },
  ROUTES: {
    key: "routes",
    default: "/provider",
    help: "comma-separated path prefixes that are forwarded; / forwards every path",
    parse: routes,
  },
  MAX_RETRIES: {
    key: "maxRetries",
    default: "3",
    help: "retries after the first attempt, 0 to 10 (so at most 4 attempts by default)",
    parse: integer(0, 10),
  },
  RETRY_ON_STATUS: {
    key: "retryOnStatus",
    default: "408,429,500,502,503,504",
    help: "upstream status codes worth a retry, each from 400 to 599; empty: retry no status",
    parse: statusList,
  },
  BACKOFF_BASE_MS: {
    key: "backoffBaseMs",
    default: "500",
    help: "wait before the first retry; it doubles for each further retry (500, 1000, 2000 ms)",
    parse: integer(0, 600_000, "milliseconds"),
  },
  BACKOFF_MAX_MS: {
    key: "backoffMaxMs",
    default: "10000",
    help: "longest single wait, jitter included",
    parse: integer(0, 3_600_000, "milliseconds"),
  },
  BACKOFF_JITTER: {
    key: "backoffJitter",
    default: "0.1",
    help: "each wait is multiplied by a random factor between 1 - j and 1 + j; full draws it between 0 and the wait; 0 turns jitter off",
    parse: jitter,
  },
  RETRY_AFTER_MAX_MS: {
    key: "retryAfterMaxMs",
    default: "30000",
    help: "the longest Retry-After the sidecar is willing to wait for",
    parse: integer(0, 3_600_000, "milliseconds"),
  },
  PER_TRY_TIMEOUT_MS: {
    key: "perTryTimeoutMs",
    default: "5000",
    help: "how long one attempt may take to receive the response headers, connecting included (longer only while overload protection holds retries back)",
    parse: integer(1, 3_600_000, "milliseconds"),
  },
  REQUEST_TIMEOUT_MS: {
    key: "requestTimeoutMs",
    default: "20000",
    help: "deadline of the whole request, from its arrival: every attempt and every wait",
    parse: integer(1, 3_600_000, "milliseconds"),
  },
  MAX_BODY_BYTES: {
    key: "maxBodyBytes",
    default: "1048576",
    help: "largest request body kept in memory so that it can be sent again; a larger body is streamed once and never retried",
    parse: integer(0, 1_073_741_824, "bytes"),
  },
  RETRY_BUDGET_RATIO: {
    key: "retryBudgetRatio",
    default: "0.2",
    help: "retries may add at most this share of the requests of the last 10 s ...",
    parse: decimal(0, 1000, "a ratio"),
  },
  RETRY_BUDGET_MIN_PER_SEC: {
    key: "retryBudgetMinPerSec",
    default: "10",
    help: "... plus this many retries per second, so that a quiet service can always retry",
    parse: decimal(0, 1_000_000, "retries per second"),
  },
  CIRCUIT_FAILURE_THRESHOLD: {
    key: "circuitFailureThreshold",
    default: "10",
    help: "consecutive retryable outcomes on a route that open its circuit; 0 turns the breaker off",
    parse: integer(0, 1_000_000),
  },
  CIRCUIT_OPEN_MS: {
    key: "circuitOpenMs",
    default: "10000",
    help: "how long an open circuit answers at once before it lets one probe request through",
    parse: integer(1, 3_600_000, "milliseconds"),
  },
  IDEMPOTENCY_HEADER: {
    key: "idempotencyHeader",
    default: "Idempotency-Key",
    help: "header that lets the upstream recognise a repeated POST or PATCH; empty turns the feature off",
    parse: headerName,
  },
  UPSTREAM_DNS_REFRESH_MS: {
    key: "upstreamDnsRefreshMs",
    default: "5000",
    help: "how often the host name of UPSTREAM_URL is resolved again; 0 resolves it only at start-up",
    parse: integer(0, 3_600_000, "milliseconds"),
  },
  UPSTREAM_DNS_SERVERS: {
    key: "upstreamDnsServers",
    // Empty: the system resolver, as getaddrinfo answers (/etc/hosts, resolv.conf search domains).
    default: "",
    help: "comma-separated DNS servers (ip, ip:port, [ipv6] or [ipv6]:port) asked for the upstream host instead of the system resolver",
    parse: dnsServers,
  },
  ENDPOINT_EJECT_AFTER: {
    key: "endpointEjectAfter",
    default: "5",
    help: "consecutive retryable outcomes of one endpoint that take it out of rotation; 0 never ejects",
    parse: integer(0, 1_000_000),
  },
  ENDPOINT_EJECT_MS: {
    key: "endpointEjectMs",
    default: "30000",
    help: "how long an ejected endpoint receives no attempts",
    parse: integer(1, 3_600_000, "milliseconds"),
  },
  SHUTDOWN_GRACE_MS: {
    key: "shutdownGraceMs",
    default: "15000",
    help: "how long requests in flight may run after SIGTERM",
    parse: integer(0, 3_600_000, "milliseconds"),
  },
  LOG_LEVEL: {
    key: "logLevel",
    default: "info",
    help: "pino level: fatal, error, warn, info, debug, trace or silent",
    parse: logLevel,
  },
  LOG_REQUESTS: {
    key: "logRequests",
    // Plain successes are counted by the metrics, not logged (an access log at 1,000 req/s is
    // some 20 GB a day per pod); Envoy, Istio and Linkerd write none by default either.
    default: "retried",
    help: "which requests log request completed: retried (more than one attempt, a status of 500 or more, an answer the sidecar made itself, a client that left, retrying stopped early, or a broken body; see Logs), all, or none",
    parse: oneOf(["retried", "all", "none"]),
  },
  // The fleet-safe retry throttle and overload protection (fleet-settings.ts), last in --help.
  ...fleetSettings,
} as const;

export type EnvName = keyof typeof settings;
type Settings = typeof settings;

/** The typed, validated configuration: `{ upstreamUrl: string, port: number, ... }`. */
export type Config = {
  [N in EnvName as Settings[N]["key"]]: z.output<Settings[N]["parse"]>;
} & {
  /** PEM text of UPSTREAM_CA_FILE, read once at start-up. */
  upstreamCa: string | undefined;
};

import { z } from "zod";
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
    help: "base URL of the upstream (http or https, optional base path)",
    parse: upstreamUrl,
  },
  UPSTREAM_CA_FILE: {
    key: "upstreamCaFile",
    default: "",
    help: "PEM bundle trusted for an https upstream, besides the system's CAs",
    parse: z.string().transform((s) => s.trim()),
  },
  LISTEN_HOST: {
    key: "listenHost",
    default: "127.0.0.1",
    help: "proxy listener address (loopback: only the pod's own containers reach it)",
    parse: host,
  },
  PORT: { key: "port", default: "8080", help: "proxy listener port", parse: integer(0, 65535, "a port") },
  ADMIN_HOST: {
    key: "adminHost",
    default: "0.0.0.0",
    help: "admin listener address (Prometheus and kubelet probes reach it)",
    parse: host,
  },
  ADMIN_PORT: {
    key: "adminPort",
    default: "9464",
    help: "admin listener port (/metrics, /healthz, /readyz, /config, /endpoints)",
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
    help: "retries after the first attempt (so at most MAX_RETRIES+1 attempts)",
    parse: integer(0, 10),
  },
  RETRY_ON_STATUS: {
    key: "retryOnStatus",
    default: "408,429,500,502,503,504",
    help: "upstream status codes that are retried",
    parse: statusList,
  },
  BACKOFF_BASE_MS: {
    key: "backoffBaseMs",
    default: "500",
    help: "delay before the first retry in ms; doubles each retry",
    parse: integer(0, 600_000, "milliseconds"),
  },
  BACKOFF_MAX_MS: {
    key: "backoffMaxMs",
    default: "10000",
    help: "cap on one backoff delay in ms",
    parse: integer(0, 3_600_000, "milliseconds"),
  },
  BACKOFF_JITTER: {
    key: "backoffJitter",
    default: "0.1",
    help: "delay x uniform factor in [1-j, 1+j]; full = uniform in [0, delay]; 0 = none",
    parse: jitter,
  },
  RETRY_AFTER_MAX_MS: {
    key: "retryAfterMaxMs",
    default: "30000",
    help: "the longest Retry-After the sidecar will wait, in ms",
    parse: integer(0, 3_600_000, "milliseconds"),
  },
  PER_TRY_TIMEOUT_MS: {
    key: "perTryTimeoutMs",
    default: "5000",
    help: "one attempt's limit for the response headers to arrive, in ms",
    parse: integer(1, 3_600_000, "milliseconds"),
  },
  REQUEST_TIMEOUT_MS: {
    key: "requestTimeoutMs",
    default: "20000",
    help: "deadline for the whole request (all attempts and waits), in ms",
    parse: integer(1, 3_600_000, "milliseconds"),
  },
  MAX_BODY_BYTES: {
    key: "maxBodyBytes",
    default: "1048576",
    help: "largest request body buffered for replay; larger ones go once, unretried",
    parse: integer(0, 1_073_741_824, "bytes"),
  },
  RETRY_BUDGET_RATIO: {
    key: "retryBudgetRatio",
    default: "0.2",
    help: "retries may add at most this fraction of the requests seen in the last 10 s ...",
    parse: decimal(0, 1000, "a ratio"),
  },
  RETRY_BUDGET_MIN_PER_SEC: {
    key: "retryBudgetMinPerSec",
    default: "10",
    help: "... plus this many retries per second (so low traffic can always retry)",
    parse: decimal(0, 1_000_000, "retries per second"),
  },
  CIRCUIT_FAILURE_THRESHOLD: {
    key: "circuitFailureThreshold",
    default: "10",
    help: "consecutive failed attempts that open a route's circuit; 0 turns the breaker off",
    parse: integer(0, 1_000_000),
  },
  CIRCUIT_OPEN_MS: {
    key: "circuitOpenMs",
    default: "10000",
    help: "how long an open circuit fails fast before one probe is let through, in ms",
    parse: integer(1, 3_600_000, "milliseconds"),
  },
  IDEMPOTENCY_HEADER: {
    key: "idempotencyHeader",
    default: "Idempotency-Key",
    help: "header that makes retried POST/PATCH safe to dedupe; empty turns it off",
    parse: headerName,
  },
  UPSTREAM_DNS_REFRESH_MS: {
    key: "upstreamDnsRefreshMs",
    default: "5000",
    help: "how often the host of UPSTREAM_URL is resolved again, in ms; 0 = only at start-up",
    parse: integer(0, 3_600_000, "milliseconds"),
  },
  UPSTREAM_DNS_SERVERS: {
    key: "upstreamDnsServers",
    // Empty: the system resolver, as getaddrinfo answers (/etc/hosts, resolv.conf search domains).
    default: "",
    help: "comma-separated ip or ip:port DNS servers to ask instead of the system resolver",
    parse: dnsServers,
  },
  ENDPOINT_EJECT_AFTER: {
    key: "endpointEjectAfter",
    default: "5",
    help: "consecutive retryable outcomes of one endpoint that take it out of rotation; 0 = never",
    parse: integer(0, 1_000_000),
  },
  ENDPOINT_EJECT_MS: {
    key: "endpointEjectMs",
    default: "30000",
    help: "how long an ejected endpoint gets no attempts, in ms",
    parse: integer(1, 3_600_000, "milliseconds"),
  },
  SHUTDOWN_GRACE_MS: {
    key: "shutdownGraceMs",
    default: "15000",
    help: "how long in-flight requests may finish after SIGTERM, in ms",
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
    help: "which requests log 'request completed': retried (retried, 5xx, local answers, client gone), all, none",
    parse: oneOf(["retried", "all", "none"]),
  },
  RETRY_THROTTLE: {
    key: "retryThrottle",
    default: "on",
    help: "the fleet-safe retry throttle: retries stop adding load while most attempts fail; off disables it",
    parse: oneOf(["on", "off"]),
  },
  RETRY_THROTTLE_TOKENS: {
    key: "retryThrottleTokens",
    default: "5",
    help: "failed attempts in a row (first attempts and retries) that engage the throttle",
    parse: decimal(0.001, 1_000_000, "tokens"),
  },
  RETRY_THROTTLE_RATIO: {
    key: "retryThrottleRatio",
    default: "0.7",
    help: "tokens a successful attempt earns back (a failed one costs 1): balances at ratio/(1+ratio) failures",
    parse: decimal(0, 1000, "a ratio"),
  },
  RETRY_THROTTLE_PROBE_RATIO: {
    key: "retryThrottleProbeRatio",
    default: "0.05",
    help: "while the throttle is engaged, probe retries per request (so it learns retries work again)",
    parse: decimal(0, 1, "a ratio"),
  },
  OVERLOAD_PROTECTION: {
    key: "overloadProtection",
    default: "on",
    help: "adaptive protection of an overloaded upstream (sheds with 503 overloaded); off disables it",
    parse: oneOf(["on", "off"]),
  },
  // Overload protection's tuning; defaults chosen with the fleet simulator (docs/overload.md).
  OVERLOAD_LATE_RATIO: {
    key: "overloadLateRatio",
    default: "0.8",
    help: "an attempt without response headers after this fraction of PER_TRY_TIMEOUT_MS is late (a sign of a queue)",
    parse: decimal(0.05, 1, "a fraction"),
  },
  OVERLOAD_DECREASE: {
    key: "overloadDecrease",
    default: "0.05",
    help: "a late answer cuts the limit to this fraction of the attempts in flight (once per round trip)",
    parse: decimal(0.05, 0.95, "a fraction"),
  },
  OVERLOAD_RECOVERY_MS: {
    key: "overloadRecoveryMs",
    default: "1500",
    help: "without late answers the limit doubles every this many ms, until it is lifted",
    parse: integer(10, 600_000, "milliseconds"),
  },
  OVERLOAD_MIN_LIMIT: {
    key: "overloadMinLimit",
    default: "0.02",
    help: "lowest limit on attempts in flight; below 1 it is the chance that a request is sent",
    parse: decimal(0.001, 1, "a number"),
  },
  OVERLOAD_RETRY_SHARE: {
    key: "overloadRetryShare",
    default: "0.5",
    help: "while a limit is in force, retries go only while the attempts in flight are under this share of it",
    parse: decimal(0, 1, "a fraction"),
  },
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

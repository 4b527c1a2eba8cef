/**
 * The "Configuration" table of docs/contract.md, copied by hand (not imported from src/, so a
 * changed default fails the tests): the variable, its default as written in the table, and the
 * value the effective configuration (`--check-config`, `/config`, keyed by `variable`) shows for it.
 */
export interface SpecSetting {
  readonly variable: string;
  /** The default as the spec table writes it; "" for "(none)". */
  readonly default: string;
  /** Key of the setting in the typed configuration loadConfig returns (not shown to operators). */
  readonly key: string;
  /** The effective value of the default. */
  readonly value: unknown;
}

export const SPEC_SETTINGS: readonly SpecSetting[] = [
  {
    variable: "UPSTREAM_URL",
    default: "http://127.0.0.1:5002",
    key: "upstreamUrl",
    value: "http://127.0.0.1:5002",
  },
  { variable: "UPSTREAM_CA_FILE", default: "", key: "upstreamCaFile", value: "" },
  { variable: "LISTEN_HOST", default: "127.0.0.1", key: "listenHost", value: "127.0.0.1" },
  { variable: "PORT", default: "8080", key: "port", value: 8080 },
  { variable: "ADMIN_HOST", default: "0.0.0.0", key: "adminHost", value: "0.0.0.0" },
  { variable: "ADMIN_PORT", default: "9464", key: "adminPort", value: 9464 },
  { variable: "ROUTES", default: "/provider", key: "routes", value: ["/provider"] },
  { variable: "MAX_RETRIES", default: "3", key: "maxRetries", value: 3 },
  {
    variable: "RETRY_ON_STATUS",
    default: "408,429,500,502,503,504",
    key: "retryOnStatus",
    value: [408, 429, 500, 502, 503, 504],
  },
  { variable: "BACKOFF_BASE_MS", default: "500", key: "backoffBaseMs", value: 500 },
  { variable: "BACKOFF_MAX_MS", default: "10000", key: "backoffMaxMs", value: 10000 },
  { variable: "BACKOFF_JITTER", default: "0.1", key: "backoffJitter", value: 0.1 },
  { variable: "RETRY_AFTER_MAX_MS", default: "30000", key: "retryAfterMaxMs", value: 30000 },
  { variable: "PER_TRY_TIMEOUT_MS", default: "5000", key: "perTryTimeoutMs", value: 5000 },
  { variable: "REQUEST_TIMEOUT_MS", default: "20000", key: "requestTimeoutMs", value: 20000 },
  { variable: "MAX_BODY_BYTES", default: "1048576", key: "maxBodyBytes", value: 1048576 },
  { variable: "RETRY_BUDGET_RATIO", default: "0.2", key: "retryBudgetRatio", value: 0.2 },
  { variable: "RETRY_BUDGET_MIN_PER_SEC", default: "10", key: "retryBudgetMinPerSec", value: 10 },
  { variable: "CIRCUIT_FAILURE_THRESHOLD", default: "10", key: "circuitFailureThreshold", value: 10 },
  { variable: "CIRCUIT_OPEN_MS", default: "10000", key: "circuitOpenMs", value: 10000 },
  // Shown as given (header names are case-insensitive; the forwarder lower-cases it for itself).
  {
    variable: "IDEMPOTENCY_HEADER",
    default: "Idempotency-Key",
    key: "idempotencyHeader",
    value: "Idempotency-Key",
  },
  { variable: "UPSTREAM_DNS_REFRESH_MS", default: "5000", key: "upstreamDnsRefreshMs", value: 5000 },
  // "(the system resolver)": no server given, an empty list.
  { variable: "UPSTREAM_DNS_SERVERS", default: "", key: "upstreamDnsServers", value: [] },
  { variable: "ENDPOINT_EJECT_AFTER", default: "5", key: "endpointEjectAfter", value: 5 },
  { variable: "ENDPOINT_EJECT_MS", default: "30000", key: "endpointEjectMs", value: 30000 },
  { variable: "SHUTDOWN_GRACE_MS", default: "15000", key: "shutdownGraceMs", value: 15000 },
  { variable: "LOG_LEVEL", default: "info", key: "logLevel", value: "info" },
  { variable: "LOG_REQUESTS", default: "retried", key: "logRequests", value: "retried" },
  { variable: "RETRY_THROTTLE", default: "on", key: "retryThrottle", value: "on" },
  { variable: "RETRY_THROTTLE_TOKENS", default: "5", key: "retryThrottleTokens", value: 5 },
  { variable: "RETRY_THROTTLE_RATIO", default: "0.7", key: "retryThrottleRatio", value: 0.7 },
  { variable: "RETRY_THROTTLE_PROBE_RATIO", default: "0.05", key: "retryThrottleProbeRatio", value: 0.05 },
  { variable: "OVERLOAD_PROTECTION", default: "on", key: "overloadProtection", value: "on" },
  { variable: "OVERLOAD_LATE_RATIO", default: "0.6", key: "overloadLateRatio", value: 0.6 },
  { variable: "OVERLOAD_DECREASE", default: "0.05", key: "overloadDecrease", value: 0.05 },
  { variable: "OVERLOAD_RECOVERY_MS", default: "400", key: "overloadRecoveryMs", value: 400 },
  { variable: "OVERLOAD_MIN_LIMIT", default: "0.02", key: "overloadMinLimit", value: 0.02 },
  { variable: "OVERLOAD_RETRY_SHARE", default: "0.5", key: "overloadRetryShare", value: 0.5 },
  { variable: "OVERLOAD_BLIND_RETRIES", default: "on", key: "overloadBlindRetries", value: "on" },
];

/** One invalid value per setting (several for some), as an operator could mistype them. */
export const INVALID_VALUES: ReadonlyArray<readonly [variable: string, value: string]> = [
  ["UPSTREAM_URL", "ftp://x"],
  ["UPSTREAM_URL", "notaurl"],
  ["UPSTREAM_URL", "http://127.0.0.1:5002/base?x=1"],
  ["UPSTREAM_CA_FILE", "/nonexistent/ca.pem"],
  ["LISTEN_HOST", "not a host"],
  ["PORT", "abc"],
  ["PORT", "70000"],
  ["PORT", "80.5"],
  ["ADMIN_HOST", "bad_host!"],
  ["ADMIN_PORT", "-1"],
  ["ROUTES", "provider"],
  ["ROUTES", "/provider/../admin"],
  ["MAX_RETRIES", "11"],
  ["MAX_RETRIES", "-1"],
  ["RETRY_ON_STATUS", "200"],
  ["RETRY_ON_STATUS", "abc"],
  ["RETRY_ON_STATUS", "503,999"],
  ["BACKOFF_BASE_MS", "fast"],
  ["BACKOFF_MAX_MS", "-10"],
  ["BACKOFF_JITTER", "2"],
  ["BACKOFF_JITTER", "some"],
  ["RETRY_AFTER_MAX_MS", "30s"],
  ["PER_TRY_TIMEOUT_MS", "-5"],
  ["REQUEST_TIMEOUT_MS", "20s"],
  ["MAX_BODY_BYTES", "1MB"],
  ["RETRY_BUDGET_RATIO", "-1"],
  ["RETRY_BUDGET_MIN_PER_SEC", "many"],
  ["CIRCUIT_FAILURE_THRESHOLD", "-1"],
  ["CIRCUIT_OPEN_MS", "soon"],
  ["IDEMPOTENCY_HEADER", "bad header"],
  ["UPSTREAM_DNS_REFRESH_MS", "5s"],
  ["UPSTREAM_DNS_REFRESH_MS", "-1"],
  ["UPSTREAM_DNS_SERVERS", "dns.example"],
  ["UPSTREAM_DNS_SERVERS", "10.0.0.10:99999"],
  ["UPSTREAM_DNS_SERVERS", "10.0.0.10,10.0.0.11:"],
  ["UPSTREAM_DNS_SERVERS", "[10.0.0.10]:53"],
  ["ENDPOINT_EJECT_AFTER", "-1"],
  ["ENDPOINT_EJECT_AFTER", "five"],
  ["ENDPOINT_EJECT_MS", "0"],
  ["ENDPOINT_EJECT_MS", "30s"],
  ["SHUTDOWN_GRACE_MS", "1.5"],
  ["LOG_LEVEL", "loud"],
  ["LOG_REQUESTS", "some"],
  ["RETRY_THROTTLE", "maybe"],
  ["RETRY_THROTTLE_TOKENS", "0"],
  ["RETRY_THROTTLE_TOKENS", "five"],
  ["RETRY_THROTTLE_RATIO", "-0.1"],
  ["RETRY_THROTTLE_PROBE_RATIO", "1.5"],
  ["OVERLOAD_PROTECTION", "1"],
  ["OVERLOAD_LATE_RATIO", "0"],
  ["OVERLOAD_LATE_RATIO", "1.5"],
  ["OVERLOAD_DECREASE", "1"],
  ["OVERLOAD_RECOVERY_MS", "5"],
  ["OVERLOAD_MIN_LIMIT", "0"],
  ["OVERLOAD_RETRY_SHARE", "half"],
  ["OVERLOAD_BLIND_RETRIES", "no"],
];

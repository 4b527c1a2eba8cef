import { describe, expect, it } from "vitest";
import { loadConfig, publicConfig } from "../../src/config/load-config.js";
import { SidecarError } from "../../src/errors/sidecar-error.js";

describe("configuration", () => {
  it("defaults are the spec's table", () => {
    const { upstreamCa, ...config } = loadConfig({});
    expect(upstreamCa).toBeUndefined();
    expect(config).toEqual({
      upstreamUrl: "http://127.0.0.1:5002",
      upstreamCaFile: "",
      listenHost: "127.0.0.1",
      port: 8080,
      adminHost: "0.0.0.0",
      adminPort: 9464,
      routes: ["/provider"],
      maxRetries: 3,
      retryOnStatus: [408, 429, 500, 502, 503, 504],
      backoffBaseMs: 500,
      backoffMaxMs: 10_000,
      backoffJitter: 0.1,
      retryAfterMaxMs: 30_000,
      perTryTimeoutMs: 5000,
      requestTimeoutMs: 20_000,
      maxBodyBytes: 1_048_576,
      retryBudgetRatio: 0.2,
      retryBudgetMinPerSec: 10,
      circuitFailureThreshold: 10,
      circuitOpenMs: 10_000,
      idempotencyHeader: "Idempotency-Key",
      upstreamDnsRefreshMs: 5000,
      upstreamDnsServers: [],
      endpointEjectAfter: 5,
      endpointEjectMs: 30_000,
      shutdownGraceMs: 15_000,
      logLevel: "info",
      logRequests: "retried",
      retryThrottle: "on",
      retryThrottleTokens: 5,
      retryThrottleRatio: 0.7,
      retryThrottleProbeRatio: 0.05,
      overloadProtection: "on",
      overloadLateRatio: 0.6,
      overloadDecrease: 0.05,
      overloadRecoveryMs: 400,
      overloadMinLimit: 0.02,
      overloadRetryShare: 0.5,
      overloadBlindRetries: "on",
    });
  });

  it.each([
    [
      { UPSTREAM_URL: "https://billing.internal:8443/api/" },
      { upstreamUrl: "https://billing.internal:8443/api" },
    ],
    [{ ROUTES: "/provider/, /invoice ,/" }, { routes: ["/provider", "/invoice", "/"] }],
    // An empty entry (a doubled or trailing comma, as a templated list often has) is skipped.
    [{ ROUTES: "/provider,,/invoice," }, { routes: ["/provider", "/invoice"] }],
    [{ RETRY_ON_STATUS: "503, 429,503" }, { retryOnStatus: [429, 503] }],
    [{ RETRY_ON_STATUS: "" }, { retryOnStatus: [] }],
    [{ BACKOFF_JITTER: "full" }, { backoffJitter: "full" }],
    [{ BACKOFF_JITTER: "0" }, { backoffJitter: 0 }],
    [{ BACKOFF_JITTER: "1" }, { backoffJitter: 1 }], // both ends of the range are in it
    [{ RETRY_THROTTLE_PROBE_RATIO: "1" }, { retryThrottleProbeRatio: 1 }],
    [{ IDEMPOTENCY_HEADER: "" }, { idempotencyHeader: "" }],
    [{ IDEMPOTENCY_HEADER: "X-Dedupe-Id" }, { idempotencyHeader: "X-Dedupe-Id" }], // shown as given
    [{ MAX_RETRIES: "0" }, { maxRetries: 0 }],
    [{ RETRY_BUDGET_RATIO: "0.5" }, { retryBudgetRatio: 0.5 }],
    [{ LOG_LEVEL: "DEBUG" }, { logLevel: "debug" }],
    [{ UPSTREAM_DNS_REFRESH_MS: "0" }, { upstreamDnsRefreshMs: 0 }],
    [{ ENDPOINT_EJECT_AFTER: "0" }, { endpointEjectAfter: 0 }],
    [{ UPSTREAM_DNS_SERVERS: " " }, { upstreamDnsServers: [] }],
    [
      { UPSTREAM_DNS_SERVERS: "127.0.0.1:1,[fd00::1]:65535" },
      { upstreamDnsServers: ["127.0.0.1:1", "[fd00::1]:65535"] },
    ],
    [
      { UPSTREAM_DNS_SERVERS: "10.0.0.10, 127.0.0.1:5353,[fd00::10]:53,fd00::11,[fd00::12]" },
      { upstreamDnsServers: ["10.0.0.10", "127.0.0.1:5353", "[fd00::10]:53", "[fd00::11]", "[fd00::12]"] },
    ],
  ])("accepts %j", (env, expected) => {
    expect(loadConfig(env)).toMatchObject(expected);
  });

  it.each([
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["PORT", "80.5"],
    ["ADMIN_PORT", "-1"],
    ["MAX_RETRIES", "11"],
    ["UPSTREAM_URL", "ftp://billing"],
    ["UPSTREAM_URL", "billing:5002"],
    ["UPSTREAM_URL", "http://billing/?q=1"],
    ["UPSTREAM_URL", "http://billing:0"], // no connection can be made to port 0
    ["UPSTREAM_URL", "http://billing:00/api"],
    ["LISTEN_HOST", "not a host"],
    ["ROUTES", "provider"],
    ["ROUTES", "/a/../b"],
    ["ROUTES", ""],
    ["RETRY_ON_STATUS", "200"],
    ["RETRY_ON_STATUS", "5xx"],
    ["BACKOFF_BASE_MS", "fast"],
    ["BACKOFF_JITTER", "2"],
    ["BACKOFF_JITTER", "half"],
    ["PER_TRY_TIMEOUT_MS", "0"],
    ["RETRY_BUDGET_RATIO", "-0.1"],
    ["CIRCUIT_OPEN_MS", "1e3"],
    ["IDEMPOTENCY_HEADER", "bad header"],
    ["LOG_LEVEL", "loud"],
    ["UPSTREAM_DNS_SERVERS", "127.0.0.1:0"],
    ["UPSTREAM_DNS_SERVERS", "[fd00::1]:65536"],
  ])("refuses %s=%j with one line naming the variable, the value and what is expected", (name, value) => {
    let thrown: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SidecarError);
    const error = thrown as SidecarError;
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toContain(`${name}=${JSON.stringify(value)}`);
    expect(error.message).toMatch(/expected .+/);
    expect(error.message).not.toContain("\n");
  });

  it("reads the CA file once, and refuses a missing or non-PEM one", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    expect(loadConfig({ UPSTREAM_CA_FILE: "/ca.pem" }, () => pem).upstreamCa).toBe(pem);
    expect(() =>
      loadConfig({ UPSTREAM_CA_FILE: "/nope" }, () => {
        throw new Error("ENOENT");
      }),
    ).toThrow(/UPSTREAM_CA_FILE="\/nope": expected a readable PEM file/);
    expect(() => loadConfig({ UPSTREAM_CA_FILE: "/ca.txt" }, () => "hello")).toThrow(/UPSTREAM_CA_FILE/);
  });

  it("redacts URL credentials and leaves out the PEM text in what it shows", () => {
    const shown = publicConfig(loadConfig({ UPSTREAM_URL: "http://user:s3cret@billing:5002/api" }));
    expect(JSON.stringify(shown)).not.toContain("s3cret");
    expect(shown.UPSTREAM_URL).toBe("http://REDACTED:REDACTED@billing:5002/api");
    expect(shown).not.toHaveProperty("upstreamCa");
    expect(shown).not.toHaveProperty("upstreamUrl");
    expect(shown.MAX_RETRIES).toBe(3);
    // A token alone in the user part (a common way to pass one) and a password alone.
    const token = publicConfig(loadConfig({ UPSTREAM_URL: "http://t0ken@billing:5002" }));
    expect(token.UPSTREAM_URL).toBe("http://REDACTED@billing:5002");
    const password = publicConfig(loadConfig({ UPSTREAM_URL: "http://:s3cret@billing:5002" }));
    expect(password.UPSTREAM_URL).toBe("http://:REDACTED@billing:5002");
  });
});

describe("an invalid UPSTREAM_URL's error line", () => {
  it.each([
    ["http://u:p@x:5/a?q=1", "http://REDACTED:REDACTED@x:5/a?q=1"],
    ["https://t0ken@billing/?q", "https://REDACTED@billing/?q"],
    ["http://:pw@x:0", "http://:REDACTED@x:0"],
    ["ftp://u:p@w@x/", "ftp://REDACTED:REDACTED@x/"], // the userinfo ends at the last @
    ["u:p@billing:5002", "REDACTED:REDACTED@billing:5002"], // no scheme
    ["http://billing/a@b?q", "http://billing/a@b?q"], // an @ in the path is not userinfo
  ])("shows %j with its credentials redacted: %j", (value, redacted) => {
    const [line] = problems({ UPSTREAM_URL: value });
    expect(line).toContain(`invalid UPSTREAM_URL=${JSON.stringify(redacted)}: expected `);
    expect(line).not.toMatch(/u:p|t0ken|pw/);
  });
});

/** The lines of the CONFIG_INVALID error loadConfig throws for `env`. */
function problems(env: Record<string, string | undefined>, readFile?: (path: string) => string): string[] {
  try {
    loadConfig(env, readFile);
  } catch (error) {
    expect(error).toBeInstanceOf(SidecarError);
    expect((error as SidecarError).code).toBe("CONFIG_INVALID");
    return (error as SidecarError).message.split("\n");
  }
  return [];
}

describe("every invalid setting at once", () => {
  it("names each invalid variable on a line of its own, in the order of the settings table", () => {
    const lines = problems(
      { MAX_RETRIES: "11", PORT: "abc", LOG_LEVEL: "loud", UPSTREAM_CA_FILE: "/nope", ROUTES: "x" },
      () => {
        throw new Error("ENOENT");
      },
    );
    expect(lines).toEqual([
      'invalid UPSTREAM_CA_FILE="/nope": expected a readable PEM file of CA certificates',
      'invalid PORT="abc": expected a port from 0 to 65535',
      expect.stringMatching(/^invalid ROUTES="x": expected comma-separated path prefixes/),
      'invalid MAX_RETRIES="11": expected integer from 0 to 10',
      'invalid LOG_LEVEL="loud": expected one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it("keeps a value holding a line separator (U+2028, U+2029) on its own line, escaped", () => {
    expect(problems({ UPSTREAM_URL: " \u2028", ROUTES: "\u2029" })).toEqual([
      'invalid UPSTREAM_URL=" \\u2028": expected an absolute http:// or https:// URL',
      expect.stringMatching(/^invalid ROUTES="\\u2029": expected /),
    ]);
  });

  it("reports a contradiction next to an invalid value of another setting", () => {
    expect(problems({ MAX_RETRIES: "x", BACKOFF_BASE_MS: "2000", BACKOFF_MAX_MS: "1000" })).toEqual([
      'invalid MAX_RETRIES="x": expected integer from 0 to 10',
      'invalid BACKOFF_BASE_MS="2000": expected at most BACKOFF_MAX_MS (1000)',
    ]);
  });
});

/** A refused environment: the variable named, its value, and what is expected instead. */
type Refusal = [env: Record<string, string>, name: string, value: string, expected: string];

/** PORT = ADMIN_PORT = 9000 on hosts that overlap: refused, naming ADMIN_HOST (`on`). */
function collision(hosts: Record<string, string>, on = hosts.ADMIN_HOST ?? ""): Refusal {
  return [
    { PORT: "9000", ADMIN_PORT: "9000", ...hosts },
    "PORT",
    "9000",
    `a port other than ADMIN_PORT's (9000 on ${on})`,
  ];
}

describe("settings that contradict each other", () => {
  it.each<Refusal>([
    [
      { BACKOFF_BASE_MS: "2000", BACKOFF_MAX_MS: "1000" },
      "BACKOFF_BASE_MS",
      "2000",
      "at most BACKOFF_MAX_MS (1000)",
    ],
    [{ BACKOFF_BASE_MS: "20000" }, "BACKOFF_BASE_MS", "20000", "at most BACKOFF_MAX_MS (10000)"],
    [
      { PER_TRY_TIMEOUT_MS: "3000", REQUEST_TIMEOUT_MS: "2000" },
      "PER_TRY_TIMEOUT_MS",
      "3000",
      "at most REQUEST_TIMEOUT_MS (2000)",
    ],
    [{ PER_TRY_TIMEOUT_MS: "30000" }, "PER_TRY_TIMEOUT_MS", "30000", "at most REQUEST_TIMEOUT_MS (20000)"],
    collision({}, "0.0.0.0"),
    [{ PORT: "9464" }, "PORT", "9464", "a port other than ADMIN_PORT's (9464 on 0.0.0.0)"],
    [{ ADMIN_PORT: "8080" }, "ADMIN_PORT", "8080", "a port other than PORT's (8080 on 127.0.0.1)"],
    collision({ ADMIN_HOST: "127.0.0.1" }),
    collision({ ADMIN_HOST: "::", LISTEN_HOST: "127.0.0.1" }),
    collision({ ADMIN_HOST: "localhost", LISTEN_HOST: "127.0.0.1" }),
    // The same rules with the two hosts the other way round.
    collision({ LISTEN_HOST: "0.0.0.0", ADMIN_HOST: "127.0.0.1" }),
    collision({ LISTEN_HOST: "localhost", ADMIN_HOST: "127.0.0.1" }),
    // Every address, however IPv6 spells it.
    collision({ ADMIN_HOST: "::0", LISTEN_HOST: "127.0.0.1" }),
    collision({ ADMIN_HOST: "0:0:0:0:0:0:0:0", LISTEN_HOST: "127.0.0.1" }),
  ])("refuses %j", (env, name, value, expected) => {
    expect(problems(env)).toEqual([`invalid ${name}=${JSON.stringify(value)}: expected ${expected}`]);
  });

  it.each([
    // Equal is no contradiction.
    { BACKOFF_BASE_MS: "1000", BACKOFF_MAX_MS: "1000" },
    { PER_TRY_TIMEOUT_MS: "2000", REQUEST_TIMEOUT_MS: "2000" },
    // A default inner limit yields to an outer one set lower: the outer one bounds it.
    { REQUEST_TIMEOUT_MS: "1000" },
    { BACKOFF_MAX_MS: "100" },
    // Port 0 picks a free port: two of them never collide.
    { PORT: "0", ADMIN_PORT: "0" },
    // The same port on addresses that do not overlap.
    { PORT: "9000", ADMIN_PORT: "9000", LISTEN_HOST: "127.0.0.1", ADMIN_HOST: "127.0.0.2" },
    { PORT: "9000", ADMIN_PORT: "9000", LISTEN_HOST: "::1", ADMIN_HOST: "0.0.0.0" },
    { PORT: "9000", ADMIN_PORT: "9000", LISTEN_HOST: "0.0.0.0", ADMIN_HOST: "::1" },
    { PORT: "9000", ADMIN_PORT: "9000", LISTEN_HOST: "127.0.0.1", ADMIN_HOST: "10.0.0.5" },
  ])("accepts %j", (env) => {
    expect(problems(env)).toEqual([]);
  });
});

import { beforeAll, describe, expect, it } from "vitest";
import { builtMain, type CliResult, runCli } from "../support/built-main.js";
import { SPEC_SETTINGS } from "../support/spec-settings.js";

// Bad configuration of every setting, through the real process (`node main.js`, no
// --check-config): exit 2 before listening, exactly one line on stderr naming the variable, no
// stack trace, even when the value holds newlines, control characters or is very long.
// (The property tests in test/property/config.property.test.ts try random values in-process.)

const HOSTILE: Record<string, string> = {
  UPSTREAM_URL: "http://billing:99999/api",
  UPSTREAM_CA_FILE: "/dev/null",
  LISTEN_HOST: "127.0.0.1\n  at Object.<anonymous> (evil.js:1:1)",
  PORT: "8080\n8081",
  ADMIN_HOST: "-admin",
  ADMIN_PORT: "65536",
  ROUTES: "/provider/../admin",
  MAX_RETRIES: "1e1",
  RETRY_ON_STATUS: "503,abc",
  BACKOFF_BASE_MS: "-1",
  BACKOFF_MAX_MS: "Infinity",
  BACKOFF_JITTER: "NaN",
  RETRY_AFTER_MAX_MS: "0x10",
  PER_TRY_TIMEOUT_MS: "0",
  REQUEST_TIMEOUT_MS: "9".repeat(5000),
  MAX_BODY_BYTES: "1.5",
  RETRY_BUDGET_RATIO: "1e400",
  RETRY_BUDGET_MIN_PER_SEC: "-0.5",
  CIRCUIT_FAILURE_THRESHOLD: "ten",
  CIRCUIT_OPEN_MS: "0",
  IDEMPOTENCY_HEADER: "Idempotency-Key\r\nX-Evil: 1",
  UPSTREAM_DNS_REFRESH_MS: "5000\n  at resolve (dns.js:1:1)",
  UPSTREAM_DNS_SERVERS: "10.0.0.10;rm -rf /",
  ENDPOINT_EJECT_AFTER: "1e3",
  ENDPOINT_EJECT_MS: "-30000",
  SHUTDOWN_GRACE_MS: "\u001b[31m-5",
  LOG_LEVEL: "verbose",
  LOG_REQUESTS: "everything",
  RETRY_THROTTLE: "yes",
  RETRY_THROTTLE_TOKENS: "Infinity",
  RETRY_THROTTLE_RATIO: "0,7",
  RETRY_THROTTLE_PROBE_RATIO: "NaN",
  OVERLOAD_PROTECTION: "auto",
  OVERLOAD_LATE_RATIO: "-0",
  OVERLOAD_DECREASE: "0.5; DROP TABLE",
  OVERLOAD_RECOVERY_MS: "1e9",
  OVERLOAD_MIN_LIMIT: "NaN",
  OVERLOAD_RETRY_SHARE: "Infinity",
  OVERLOAD_BLIND_RETRIES: "yes",
};

let results: Map<string, CliResult>;

beforeAll(async () => {
  const main = await builtMain();
  const variables = SPEC_SETTINGS.map((s) => s.variable);
  results = new Map();
  // A few processes at a time: each one is a whole Node start-up.
  for (let i = 0; i < variables.length; i += 6) {
    const batch = variables.slice(i, i + 6);
    const done = await Promise.all(
      batch.map((variable) =>
        runCli(main, [], {
          PORT: "0",
          ADMIN_PORT: "0",
          ADMIN_HOST: "127.0.0.1",
          [variable]: HOSTILE[variable] ?? "",
        }),
      ),
    );
    for (const [index, variable] of batch.entries()) results.set(variable, done[index] as CliResult);
  }
}, 60_000);

describe("a hostile value of every setting: exit 2 and one line naming it", () => {
  it("covers every setting of the spec table", () => {
    expect(Object.keys(HOSTILE).sort()).toEqual(SPEC_SETTINGS.map((s) => s.variable).sort());
  });

  it.each(SPEC_SETTINGS.map((s) => s.variable))("%s", (variable) => {
    const result = results.get(variable) as CliResult;
    expect(result.code).toBe(2);
    expect(result.stdout).toBe(""); // never got as far as "retry-sidecar listening"
    expect(result.stderr.endsWith("\n")).toBe(true);
    const lines = result.stderr.slice(0, -1).split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^retry-sidecar: invalid ${variable}=".*": expected \\S`));
    expect(lines[0]).not.toContain("\r");
    expect(lines[0]).not.toContain("\u001b");
    expect(result.stderr).not.toMatch(/\n\s+at |ZodError/);
  });
});

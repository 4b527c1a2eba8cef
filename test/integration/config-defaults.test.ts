import { describe, expect, it } from "vitest";
import { loadConfig, publicConfig } from "../../src/config/load-config.js";
import { SidecarError } from "../../src/errors/sidecar-error.js";
import { INVALID_VALUES, SPEC_SETTINGS } from "../support/spec-settings.js";

// The defaults of docs/contract.md "Configuration", and the validation of every setting, through the
// same loadConfig that the process uses (the CLI side is config-cli.test.ts).

const noFiles = (path: string): string => {
  throw new Error(`unexpected read of ${path}`);
};

describe("loadConfig({}): the defaults of the spec table", () => {
  const config = loadConfig({}, noFiles) as unknown as Record<string, unknown>;

  it.each(SPEC_SETTINGS.map((s) => [s.variable, s] as const))("%s", (_variable, setting) => {
    expect(config[setting.key]).toEqual(setting.value);
  });

  it("has no CA without UPSTREAM_CA_FILE, and nothing beyond the table", () => {
    expect(config.upstreamCa).toBeUndefined();
    // The effective configuration shows every setting under its variable name, in table order.
    expect(Object.keys(publicConfig(config as never))).toEqual(SPEC_SETTINGS.map((s) => s.variable));
  });

  it("takes each documented default written explicitly to the same configuration", () => {
    const explicit = Object.fromEntries(SPEC_SETTINGS.map((s) => [s.variable, s.default]));
    expect(loadConfig(explicit, noFiles)).toEqual(config);
  });
});

describe("loadConfig: an invalid value names the variable, the value and what is expected", () => {
  it.each(INVALID_VALUES)("%s=%j", (variable, value) => {
    let thrown: unknown;
    try {
      loadConfig({ [variable]: value }, (path) => {
        throw new Error(`ENOENT: ${path}`);
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SidecarError);
    const message = (thrown as SidecarError).message;
    expect(message).toContain(variable);
    expect(message).toContain(value);
    expect(message).toMatch(/expected \S/);
    expect(message).not.toContain("\n");
  });

  it("refuses a CA file that is not PEM", () => {
    expect(() => loadConfig({ UPSTREAM_CA_FILE: "/etc/hostname" }, () => "just text\n")).toThrow(
      /UPSTREAM_CA_FILE.*\/etc\/hostname.*expected/,
    );
  });
});

describe("loadConfig: values an operator may write", () => {
  it.each([
    [{ BACKOFF_JITTER: "full" }, "backoffJitter", "full"],
    [{ BACKOFF_JITTER: "0" }, "backoffJitter", 0],
    [{ MAX_RETRIES: "0" }, "maxRetries", 0],
    [{ MAX_RETRIES: "10" }, "maxRetries", 10],
    [{ CIRCUIT_FAILURE_THRESHOLD: "0" }, "circuitFailureThreshold", 0],
    [{ IDEMPOTENCY_HEADER: "" }, "idempotencyHeader", ""],
    [{ ROUTES: "/" }, "routes", ["/"]],
    [{ ROUTES: "/provider,/invoice" }, "routes", ["/provider", "/invoice"]],
    [{ RETRY_ON_STATUS: "503" }, "retryOnStatus", [503]],
    [
      { UPSTREAM_URL: "https://billing.example:8443/base" },
      "upstreamUrl",
      "https://billing.example:8443/base",
    ],
    [{ PORT: "0" }, "port", 0],
    [{ PORT: "65535" }, "port", 65535],
  ] as const)("%j", (env, key, value) => {
    expect((loadConfig(env, noFiles) as unknown as Record<string, unknown>)[key]).toEqual(value);
  });
});

import { describe, expect, it } from "vitest";
import { settings } from "../../src/config/settings.js";
import { editDistance, findUnknownSettings } from "../../src/config/unknown-settings.js";

// docs/contract.md "Configuration": a variable within two edits of a setting is reported with the
// setting it probably meant; the ordinary environment of a shell or a pod never is.

describe("findUnknownSettings", () => {
  it.each([
    ["MAX_RETIRES", "MAX_RETRIES"], // two letters swapped: one edit
    ["MAX_RETRIE", "MAX_RETRIES"],
    ["MAX_RETRYS", "MAX_RETRIES"], // two edits
    ["UPSTREAM_UR", "UPSTREAM_URL"],
    ["UPSTRAEM_URL", "UPSTREAM_URL"],
    ["ADMIN_PROT", "ADMIN_PORT"],
    ["LOG_LEVLE", "LOG_LEVEL"],
    ["RETRY_ON_STATUSES", "RETRY_ON_STATUS"],
    ["LISTEN_HOSTS", "LISTEN_HOST"],
    ["BACKOFF_BASE_S", "BACKOFF_BASE_MS"],
    // One edit from ADMIN_HOST, two from ADMIN_PORT (later in the table): the nearer one wins.
    ["ADMIN_HOT", "ADMIN_HOST"],
    ["ADMIN_PORR", "ADMIN_PORT"],
    // Names without an underscore too.
    ["ROUTE", "ROUTES"],
    ["PROT", "PORT"],
  ])("%s → did you mean %s", (name, didYouMean) => {
    expect(findUnknownSettings({ [name]: "1" })).toEqual([{ name, didYouMean }]);
  });

  it.each([
    "BACKOFF_MAX", // three edits from BACKOFF_MAX_MS
    "CIRCUIT_OPEN_SEC",
    "RETRIES",
    "MAX_RETRY", // Y for IES: three edits
  ])("%s is three or more edits from every setting: not reported", (name) => {
    expect(findUnknownSettings({ [name]: "1" })).toEqual([]);
  });

  it("reports nothing for the settings themselves", () => {
    const env = Object.fromEntries(Object.entries(settings).map(([name, s]) => [name, s.default]));
    expect(findUnknownSettings(env)).toEqual([]);
  });

  it("reports nothing for an ordinary shell, container or Kubernetes pod environment", () => {
    const env: Record<string, string> = {
      PATH: "/usr/bin",
      HOME: "/root",
      HOST: "x",
      HOSTNAME: "billing-7d9f",
      PORT: "8080",
      PWD: "/app",
      TERM: "xterm",
      USER: "node",
      LANG: "C.UTF-8",
      SHLVL: "1",
      NODE_ENV: "production",
      NODE_VERSION: "24.21.0",
      NODE_OPTIONS: "--max-old-space-size=96",
      YARN_VERSION: "1.22.22",
      MALLOC_ARENA_MAX: "2",
      TZ: "UTC",
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
      KUBERNETES_SERVICE_PORT_HTTPS: "443",
      KUBERNETES_PORT: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP_ADDR: "10.96.0.1",
      KUBERNETES_PORT_443_TCP_PORT: "443",
      KUBERNETES_PORT_443_TCP_PROTO: "tcp",
      // Service links of Services next to the sidecar (billing, admin, upstream).
      BILLING_SERVICE_HOST: "10.96.3.4",
      BILLING_PORT_5002_TCP_ADDR: "10.96.3.4",
      ADMIN_SERVICE_PORT: "9464",
      UPSTREAM_SERVICE_HOST: "10.96.3.5",
      UPSTREAM_PORT_80_TCP_PORT: "80",
      ADMINS_PORT: "tcp://10.96.3.6:9464", // a Service named "admins": one edit from ADMIN_PORT
      BILLING_URL: "http://127.0.0.1:8080",
      max_retires: "5", // lower case: not shaped like a setting
      OTEL_SERVICE_NAME: "billing",
      AWS_REGION: "eu-west-1",
      JAVA_OPTS: "-Xmx512m",
    };
    expect(findUnknownSettings(env)).toEqual([]);
  });

  it("sorts the reports by name and picks the nearest setting", () => {
    expect(
      findUnknownSettings({ ROUTES_: "/", MAX_RETIRES: "5", ADMIN_PORTS: "1", ADMINS_PORT: "9464" }),
    ).toEqual([
      { name: "ADMINS_PORT", didYouMean: "ADMIN_PORT" },
      { name: "ADMIN_PORTS", didYouMean: "ADMIN_PORT" },
      { name: "MAX_RETIRES", didYouMean: "MAX_RETRIES" },
    ]);
  });
});

describe("editDistance (optimal string alignment)", () => {
  it.each([
    ["", "", 0],
    ["abc", "abc", 0],
    ["abc", "acb", 1], // a transposition is one edit
    ["MAX_RETIRES", "MAX_RETRIES", 1],
    ["abc", "ab", 1],
    ["abc", "xbc", 1],
    ["ca", "abc", 3], // OSA does not edit a transposed pair again (true Damerau gives 2)
    ["kitten", "sitting", 3],
    ["", "abc", 3],
  ])("%j → %j: %i", (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});

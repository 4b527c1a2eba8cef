import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtMain, type CliResult, runCli } from "../support/built-main.js";
import { SPEC_SETTINGS } from "../support/spec-settings.js";

// docs/contract.md "Running it" and "Configuration", through the real process: `node dist/main.js`
// (compiled once per source version by builtMain), with a clean environment.

let main: string;
let dir = "";

beforeAll(async () => {
  main = await builtMain();
  dir = mkdtempSync(join(tmpdir(), "retry-sidecar-config-"));
  writeFileSync(join(dir, "ca.pem"), rootCertificates.slice(0, 2).join("\n"));
  writeFileSync(join(dir, "not-pem.txt"), "this is not a certificate\n");
}, 60_000);
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** Runs the invalid cases a few at a time (each is a whole Node process). */
async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  run: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

describe("--help", () => {
  it("lists every variable of the spec table with its default and exits 0", async () => {
    const result = await runCli(main, ["--help"], {});
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const lines = result.stdout.split("\n");
    for (const setting of SPEC_SETTINGS) {
      const line = lines.find((l) => l.trim().startsWith(`${setting.variable} `));
      expect(line, setting.variable).toBeDefined();
      const shown = setting.default === "" ? /(""|\(none\))/ : setting.default;
      expect(line).toContain(typeof shown === "string" ? shown : "");
      if (typeof shown !== "string") expect(line).toMatch(shown);
    }
  });
});

describe("--check-config", () => {
  it("prints the effective configuration (the spec defaults) as JSON and exits 0", async () => {
    const result = await runCli(main, ["--check-config"], {});
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const config = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(config).toEqual(Object.fromEntries(SPEC_SETTINGS.map((s) => [s.key, s.value])));
  });

  it("shows the values given in the environment, credentials of UPSTREAM_URL redacted", async () => {
    const result = await runCli(main, ["--check-config"], {
      UPSTREAM_URL: "https://billing:s3cr3t-pw@billing.example:8443/api",
      UPSTREAM_CA_FILE: join(dir, "ca.pem"),
      MAX_RETRIES: "5",
      ROUTES: "/provider,/invoice",
      BACKOFF_JITTER: "full",
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("s3cr3t-pw");
    expect(result.stdout).not.toContain("BEGIN CERTIFICATE");
    const config = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(config.upstreamUrl).toBe("https://REDACTED:REDACTED@billing.example:8443/api");
    expect(config.upstreamCaFile).toBe(join(dir, "ca.pem"));
    expect(config.maxRetries).toBe(5);
    expect(config.routes).toEqual(["/provider", "/invoice"]);
    expect(config.backoffJitter).toBe("full");
  });
});

describe("an invalid value stops the process: exit 2, one line on stderr, no stack trace", () => {
  // Each case is a whole Node process, so the CLI runs one invalid value per kind of parser;
  // config-defaults.test.ts checks an invalid value of every setting through loadConfig.
  const cases: Array<readonly [variable: string, value: string]> = [
    ["PORT", "abc"],
    ["MAX_RETRIES", "11"],
    ["RETRY_ON_STATUS", "200"],
    ["BACKOFF_JITTER", "2"],
    ["RETRY_BUDGET_RATIO", "-1"],
    ["UPSTREAM_URL", "ftp://x"],
    ["UPSTREAM_CA_FILE", "/nonexistent/ca.pem"],
    ["UPSTREAM_CA_FILE", "<not-pem>"],
    ["LOG_LEVEL", "loud"],
    ["ROUTES", "provider"],
    ["IDEMPOTENCY_HEADER", "bad header"],
  ];
  const shownValue = (value: string) => (value === "<not-pem>" ? join(dir, "not-pem.txt") : value);
  let results: CliResult[];

  beforeAll(async () => {
    // Without --check-config: the process must stop before it listens.
    results = await inParallel(cases, 4, ([variable, value]) =>
      runCli(main, [], {
        PORT: "0",
        ADMIN_PORT: "0",
        ADMIN_HOST: "127.0.0.1",
        [variable]: shownValue(value),
      }),
    );
  }, 60_000);

  it.each(cases.map(([variable, value], index) => [variable, value, index] as const))(
    "%s=%j",
    (variable, value, index) => {
      const result = results[index] as CliResult;
      expect(result.code).toBe(2);
      expect(result.stdout).toBe("");
      const lines = result.stderr.split("\n");
      expect(lines).toHaveLength(2); // one line, then the final newline
      expect(lines[1]).toBe("");
      expect(lines[0]).toContain(variable);
      expect(lines[0]).toContain(shownValue(value));
      expect(lines[0]).toMatch(/expected \S/);
      expect(result.stderr).not.toMatch(/\n\s+at |Error:|ZodError/);
    },
  );

  it("--check-config also exits 2 on an invalid value", async () => {
    const result = await runCli(main, ["--check-config"], { MAX_RETRIES: "11" });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain('MAX_RETRIES="11"');
  });
});

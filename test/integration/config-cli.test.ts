import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtMain, type CliResult, repoRoot, runCli } from "../support/built-main.js";
import { startSidecarProcess } from "../support/sidecar-process.js";
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
    // Under the variable names an operator sets, in the order of the table.
    expect(config).toEqual(Object.fromEntries(SPEC_SETTINGS.map((s) => [s.variable, s.value])));
    expect(Object.keys(config)).toEqual(SPEC_SETTINGS.map((s) => s.variable));
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
    expect(config.UPSTREAM_URL).toBe("https://REDACTED:REDACTED@billing.example:8443/api");
    expect(config.UPSTREAM_CA_FILE).toBe(join(dir, "ca.pem"));
    expect(config.MAX_RETRIES).toBe(5);
    expect(config.ROUTES).toEqual(["/provider", "/invoice"]);
    expect(config.BACKOFF_JITTER).toBe("full");
  });

  it("warns on stderr about a likely typo of a setting's name, and still exits 0", async () => {
    const result = await runCli(main, ["--check-config"], { MAX_RETIRES: "5" });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      "retry-sidecar: warning: unknown setting MAX_RETIRES (did you mean MAX_RETRIES?)\n",
    );
    expect((JSON.parse(result.stdout) as Record<string, unknown>).MAX_RETRIES).toBe(3);
  });
});

describe("--version", () => {
  it("prints the version of package.json and exits 0", async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
    const result = await runCli(main, ["--version"], {});
    expect(result).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });
});

describe("several invalid or contradicting settings: exit 2, one line for each of them", () => {
  it("names every invalid variable, not only the first", async () => {
    const result = await runCli(main, [], {
      PORT: "abc",
      MAX_RETRIES: "11",
      LOG_LEVEL: "loud",
      BACKOFF_BASE_MS: "5000",
      BACKOFF_MAX_MS: "1000",
      PER_TRY_TIMEOUT_MS: "3000",
      REQUEST_TIMEOUT_MS: "2000",
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n")).toEqual([
      'retry-sidecar: invalid PORT="abc": expected a port from 0 to 65535',
      'retry-sidecar: invalid MAX_RETRIES="11": expected integer from 0 to 10',
      'retry-sidecar: invalid BACKOFF_BASE_MS="5000": expected at most BACKOFF_MAX_MS (1000)',
      'retry-sidecar: invalid PER_TRY_TIMEOUT_MS="3000": expected at most REQUEST_TIMEOUT_MS (2000)',
      expect.stringMatching(/^retry-sidecar: invalid LOG_LEVEL="loud": expected one of /),
    ]);
  });

  it.each([
    [{ PORT: "9555", ADMIN_PORT: "9555", ADMIN_HOST: "127.0.0.1" }, "PORT"],
    // 0.0.0.0 takes 127.0.0.1 too: the two listeners would collide at listen.
    [{ PORT: "9555", ADMIN_PORT: "9555", ADMIN_HOST: "0.0.0.0" }, "PORT"],
    [{ ADMIN_PORT: "8080" }, "ADMIN_PORT"],
  ])("%j → exit 2 before listening, naming %s", async (env, variable) => {
    const result = await runCli(main, [], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^retry-sidecar: invalid ${variable}="\\d+": expected a port other than `),
    );
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("a port another process holds", () => {
  it("exit 1 with one line naming the address, no stack trace", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const port = (holder.address() as AddressInfo).port;
      const result = await runCli(main, [], {
        UPSTREAM_URL: "http://127.0.0.1:1",
        PORT: String(port),
        LISTEN_HOST: "127.0.0.1",
        ADMIN_PORT: "0",
        ADMIN_HOST: "127.0.0.1",
      });
      expect(result.code).toBe(1);
      const lines = result.stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^retry-sidecar: cannot start: listen EADDRINUSE.*127\\.0\\.0\\.1:${port}$`),
      );
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

describe("an unknown setting at start-up", () => {
  it("is logged as a warning naming the setting it probably meant; the sidecar still starts", async () => {
    const p = await startSidecarProcess({ MAX_RETIRES: "5", UPSTREAM_URL: "http://127.0.0.1:9" });
    try {
      const warnings = p.logs.filter((line) => line.msg === "unknown setting");
      expect(warnings).toEqual([expect.objectContaining({ name: "MAX_RETIRES", didYouMean: "MAX_RETRIES" })]);
      // PATH (and the other ordinary variables the process got) are not reported.
      expect(p.logs.some((line) => line.msg === "retry-sidecar listening")).toBe(true);
    } finally {
      p.child.kill("SIGTERM");
      await p.exited;
    }
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
    ["UPSTREAM_URL", "http://x:0"],
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

  it("an invalid UPSTREAM_URL's line redacts its credentials, as /config does", async () => {
    const result = await runCli(main, ["--check-config"], { UPSTREAM_URL: "http://u:pw-s3cret@x:5/a?q=1" });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'retry-sidecar: invalid UPSTREAM_URL="http://REDACTED:REDACTED@x:5/a?q=1": expected a base URL without query or fragment\n',
    );
  });

  it("--check-config also exits 2 on an invalid value", async () => {
    const result = await runCli(main, ["--check-config"], { MAX_RETRIES: "11" });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain('MAX_RETRIES="11"');
  });
});

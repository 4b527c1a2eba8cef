import { isIP } from "node:net";
import type { Config, EnvName } from "./settings.js";

/** One invalid setting: the variable, the value as written, and what is expected instead. */
export interface ConfigProblem {
  readonly name: EnvName;
  readonly value: string;
  readonly expected: string;
}

/**
 * Settings that are each valid but cannot hold together. An inner limit the operator set must
 * fit inside its outer one (BACKOFF_BASE_MS inside BACKOFF_MAX_MS, PER_TRY_TIMEOUT_MS inside
 * REQUEST_TIMEOUT_MS); a default inner limit never makes a setting invalid, since the outer limit
 * bounds it (REQUEST_TIMEOUT_MS=1000 alone is a 1 s deadline for 5 s attempts: each is cut at 1 s).
 * The two listeners may not claim the same port on overlapping addresses: that would fail at
 * listen (exit 1) instead of being named here (exit 2). `given` says which variables were set.
 */
export function findContradictions(
  config: Partial<Config>,
  given: (name: EnvName) => string | undefined,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const { backoffBaseMs, backoffMaxMs, perTryTimeoutMs, requestTimeoutMs } = config;
  const { port, adminPort, listenHost, adminHost } = config;
  const base = given("BACKOFF_BASE_MS");
  if (
    base !== undefined &&
    backoffBaseMs !== undefined &&
    backoffMaxMs !== undefined &&
    backoffBaseMs > backoffMaxMs
  ) {
    problems.push({
      name: "BACKOFF_BASE_MS",
      value: base,
      expected: `at most BACKOFF_MAX_MS (${backoffMaxMs})`,
    });
  }
  const perTry = given("PER_TRY_TIMEOUT_MS");
  if (
    perTry !== undefined &&
    perTryTimeoutMs !== undefined &&
    requestTimeoutMs !== undefined &&
    perTryTimeoutMs > requestTimeoutMs
  ) {
    problems.push({
      name: "PER_TRY_TIMEOUT_MS",
      value: perTry,
      expected: `at most REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
    });
  }
  if (
    port !== undefined &&
    port !== 0 &&
    port === adminPort &&
    listenHost !== undefined &&
    adminHost !== undefined &&
    addressesOverlap(listenHost, adminHost)
  ) {
    // Name the one the operator moved; when both (or neither) were set, PORT.
    const adminMoved = given("ADMIN_PORT") !== undefined && given("PORT") === undefined;
    problems.push(
      adminMoved
        ? {
            name: "ADMIN_PORT",
            value: given("ADMIN_PORT") as string,
            expected: `a port other than PORT's (${port} on ${listenHost})`,
          }
        : {
            name: "PORT",
            value: given("PORT") ?? String(port),
            expected: `a port other than ADMIN_PORT's (${adminPort} on ${adminHost})`,
          },
    );
  }
  return problems;
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1"]);

/**
 * Whether two listen addresses can collide on one port. `0.0.0.0` takes every IPv4 address and
 * `::` every address (Node listens dual-stack); "localhost" is a loopback address. Two different
 * host names are not known to collide without resolving them, so they pass.
 */
export function addressesOverlap(a: string, b: string): boolean {
  const x = normalise(a);
  const y = normalise(b);
  if (x === y || x === "::" || y === "::") return true;
  if (x === "0.0.0.0") return isIP(y) !== 6;
  if (y === "0.0.0.0") return isIP(x) !== 6;
  return x === "localhost" ? LOOPBACK_NAMES.has(y) : y === "localhost" && LOOPBACK_NAMES.has(x);
}

function normalise(host: string): string {
  const text = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  return text === "::0" || text === "0:0:0:0:0:0:0:0" ? "::" : text;
}

import { readFileSync } from "node:fs";
import { SidecarError } from "../errors/sidecar-error.js";
import { type ConfigProblem, findContradictions } from "./contradictions.js";
import { redactUserinfo } from "./redact-userinfo.js";
import { type Config, type EnvName, settings } from "./settings.js";

const names = Object.keys(settings) as EnvName[];

export type ReadFile = (path: string) => string;

/**
 * Validates the environment into a Config. Throws SidecarError CONFIG_INVALID when any setting is
 * invalid; its message holds one line per invalid variable (all of them, in the order of the
 * settings table), each naming the variable, the value and what is expected. A missing variable
 * takes its documented default.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  readFile: ReadFile = (path) => readFileSync(path, "utf8"),
): Config {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const name of names) {
    const value = env[name] ?? settings[name].default;
    const result = settings[name].parse.safeParse(value);
    if (result.success) values[settings[name].key] = result.data;
    else problems.push({ name, value, expected: result.error.issues[0]?.message ?? "a valid value" });
  }
  if (typeof values.upstreamCaFile === "string") {
    const ca = readCa(values.upstreamCaFile, readFile);
    if (typeof ca === "object") problems.push(ca);
    else values.upstreamCa = ca;
  }
  // Contradictions between the settings that are valid on their own.
  problems.push(...findContradictions(values as Partial<Config>, (name) => env[name]));
  if (problems.length > 0) {
    throw invalid(names.flatMap((name) => problems.filter((p) => p.name === name)));
  }
  return values as Config;
}

/** The PEM text of the CA file (undefined: none configured), or the problem with it. */
function readCa(path: string, readFile: ReadFile): string | ConfigProblem | undefined {
  if (path === "") return undefined;
  const problem = (expected: string): ConfigProblem => ({ name: "UPSTREAM_CA_FILE", value: path, expected });
  let pem: string;
  try {
    pem = readFile(path);
  } catch {
    return problem("a readable PEM file of CA certificates");
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    return problem("a PEM file holding at least one CERTIFICATE block");
  }
  return pem;
}

/** The error's message: one line per problem, `invalid NAME="value": expected ...`. */
function invalid(problems: readonly ConfigProblem[]): SidecarError {
  const lines = problems.map((p) => `invalid ${p.name}=${quoted(shown(p))}: expected ${p.expected}`);
  return new SidecarError("CONFIG_INVALID", lines.join("\n"));
}

/** The value an error line shows: UPSTREAM_URL's credentials redacted even when it is invalid. */
function shown(problem: ConfigProblem): string {
  return problem.name === "UPSTREAM_URL" ? redactUserinfo(problem.value) : problem.value;
}

/**
 * The configuration as shown by /config and --check-config: under the variable names an operator
 * sets, in the order of the settings table; URL credentials redacted, no PEM text.
 */
export function publicConfig(config: Config): Record<EnvName, unknown> {
  const shown = Object.fromEntries(names.map((name) => [name, config[settings[name].key]])) as Record<
    EnvName,
    unknown
  >;
  const url = new URL(config.upstreamUrl);
  if (url.username !== "" || url.password !== "") {
    url.username = url.username === "" ? "" : "REDACTED";
    url.password = url.password === "" ? "" : "REDACTED";
  }
  return { ...shown, UPSTREAM_URL: url.href.replace(/\/+$/, "") };
}

/**
 * The value as a JSON string, with the two line separators JSON leaves raw (U+2028, U+2029)
 * escaped too, so that each invalid variable stays on one line of stderr whatever it holds.
 */
function quoted(value: string): string {
  return JSON.stringify(value).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

import { readFileSync } from "node:fs";
import { z } from "zod";
import { SidecarError } from "../errors/sidecar-error.js";
import { type Config, type EnvName, settings } from "./settings.js";

const names = Object.keys(settings) as EnvName[];

// One zod object over the environment: a missing variable takes its documented default.
const schema = z.object(
  Object.fromEntries(names.map((name) => [name, settings[name].parse])) as {
    [N in EnvName]: (typeof settings)[N]["parse"];
  },
);

export type ReadFile = (path: string) => string;

/**
 * Validates the environment into a Config. Throws SidecarError CONFIG_INVALID whose message is
 * the single line printed on stderr: the variable, the value and what is expected.
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  readFile: ReadFile = (path) => readFileSync(path, "utf8"),
): Config {
  const input = Object.fromEntries(names.map((name) => [name, env[name] ?? settings[name].default]));
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0]) as EnvName;
    throw invalid(name, input[name] ?? "", issue?.message ?? "a valid value");
  }
  const parsed = result.data;
  const config = Object.fromEntries(names.map((name) => [settings[name].key, parsed[name]])) as Omit<
    Config,
    "upstreamCa"
  >;
  return { ...config, upstreamCa: readCa(config.upstreamCaFile, readFile) };
}

function readCa(path: string, readFile: ReadFile): string | undefined {
  if (path === "") return undefined;
  let pem: string;
  try {
    pem = readFile(path);
  } catch {
    throw invalid("UPSTREAM_CA_FILE", path, "a readable PEM file of CA certificates");
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw invalid("UPSTREAM_CA_FILE", path, "a PEM file holding at least one CERTIFICATE block");
  }
  return pem;
}

function invalid(name: string, value: string, expected: string): SidecarError {
  return new SidecarError("CONFIG_INVALID", `invalid ${name}=${JSON.stringify(value)}: expected ${expected}`);
}

/** The configuration as shown by /config and --check-config: URL credentials redacted, no PEM text. */
export function publicConfig(config: Config): Record<string, unknown> {
  const { upstreamCa: _pem, ...shown } = config;
  const url = new URL(config.upstreamUrl);
  if (url.username !== "" || url.password !== "") {
    url.username = url.username === "" ? "" : "REDACTED";
    url.password = url.password === "" ? "" : "REDACTED";
  }
  return { ...shown, upstreamUrl: url.href.replace(/\/+$/, "") };
}

#!/usr/bin/env node
import { helpText } from "./config/help-text.js";
import { loadConfig, publicConfig } from "./config/load-config.js";
import type { Config } from "./config/settings.js";
import { findUnknownSettings } from "./config/unknown-settings.js";
import { SidecarError } from "./errors/sidecar-error.js";
import { packageVersion } from "./runtime/version.js";

// The process entry: arguments, configuration, signals, exit codes. Exit 2 = bad configuration.

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(helpText());
  process.exit(0);
}
if (args.includes("--version")) {
  process.stdout.write(`${packageVersion()}\n`);
  process.exit(0);
}
const unknown = args.filter((arg) => arg !== "--check-config");
if (unknown.length > 0) {
  process.stderr.write(`retry-sidecar: unknown argument ${unknown[0]} (try --help)\n`);
  process.exit(2);
}

let config: Config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof SidecarError && error.code === "CONFIG_INVALID") {
    // One line per invalid variable, all of them.
    for (const line of error.message.split("\n")) process.stderr.write(`retry-sidecar: ${line}\n`);
    process.exit(2);
  }
  throw error;
}
// A likely typo never stops the process: the sidecar logs it (warn) once it has a logger.
const unknownSettings = findUnknownSettings(process.env);

if (args.includes("--check-config")) {
  for (const { name, didYouMean } of unknownSettings) {
    process.stderr.write(`retry-sidecar: warning: unknown setting ${name} (did you mean ${didYouMean}?)\n`);
  }
  process.stdout.write(`${JSON.stringify(publicConfig(config), null, 2)}\n`);
  process.exit(0);
}

try {
  // Loaded only now: --help, --check-config and a bad value answer without loading the servers.
  const { startSidecar } = await import("./sidecar.js");
  const sidecar = await startSidecar(config, { unknownSettings });
  const stop = (signal: NodeJS.Signals) => {
    sidecar.logger.info({ signal }, "shutdown requested");
    sidecar.shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  // once: the other signal joins the drain under way (shutdown drains once), while the same signal
  // again meets Node's default and ends the process at once, as a second Ctrl-C is meant to.
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
} catch (error) {
  // EADDRINUSE and the like: one line, no stack trace, as for bad configuration.
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`retry-sidecar: cannot start: ${message}\n`);
  process.exit(1);
}

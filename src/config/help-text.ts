import { settings } from "./settings.js";

/** `--help`: every setting with its default, generated from the settings table. */
export function helpText(): string {
  const rows = Object.entries(settings).map(
    ([name, s]) => `  ${name.padEnd(26)} ${JSON.stringify(s.default).padEnd(26)} ${s.help}`,
  );
  return [
    "retry-sidecar: a transparent HTTP retry proxy (see README.md)",
    "",
    "Usage: node dist/main.js [--help | --check-config]",
    "  --help           print this text and exit",
    "  --check-config   validate the environment, print the effective configuration as JSON,",
    "                   exit 0 when valid, 2 when not",
    "",
    "Settings (environment variables, all optional):",
    `  ${"VARIABLE".padEnd(26)} ${"DEFAULT".padEnd(26)} MEANING`,
    ...rows,
    "",
  ].join("\n");
}

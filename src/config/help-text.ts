import { settings } from "./settings.js";

// The columns are as wide as their longest entry (a fixed width let a longer name added later,
// RETRY_THROTTLE_PROBE_RATIO, push its row's default and meaning out of line).
const NAME_WIDTH = Math.max("VARIABLE".length, ...Object.keys(settings).map((name) => name.length));
const DEFAULT_WIDTH = Math.max(
  "DEFAULT".length,
  ...Object.values(settings).map((s) => JSON.stringify(s.default).length),
);
const MEANING_WIDTH = 64;
const INDENT = " ".repeat(2 + NAME_WIDTH + 1 + DEFAULT_WIDTH + 1);

/**
 * `--help`: every setting with its default and meaning, generated from the settings table (whose
 * meanings are, word for word, those of docs/contract.md: test/unit/help-contract.test.ts).
 */
export function helpText(): string {
  const rows = Object.entries(settings).flatMap(([name, s]) => {
    const [first = "", ...rest] = wrap(s.help, MEANING_WIDTH);
    return [
      `  ${name.padEnd(NAME_WIDTH)} ${JSON.stringify(s.default).padEnd(DEFAULT_WIDTH)} ${first}`,
      ...rest.map((line) => `${INDENT}${line}`),
    ];
  });
  return [
    "retry-sidecar: a transparent HTTP retry proxy (see README.md and docs/contract.md)",
    "",
    "Usage: node dist/main.js [--help | --version | --check-config]",
    "  --help           print this text and exit",
    "  --version        print the version and exit",
    "  --check-config   validate the environment, print the effective configuration as JSON,",
    "                   exit 0 when valid, 2 when not",
    "",
    "Settings (environment variables, all optional; durations in milliseconds):",
    `  ${"VARIABLE".padEnd(NAME_WIDTH)} ${"DEFAULT".padEnd(DEFAULT_WIDTH)} MEANING`,
    ...rows,
    "",
    "Invalid settings stop the process with exit code 2 and one line on stderr for each.",
    "A variable within two edits of a setting's name (MAX_RETIRES) is logged as a warning.",
    "",
  ].join("\n");
}

/** Splits text at spaces into lines of at most `width` characters (a longer word stands alone). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { helpText } from "../../src/config/help-text.js";
import { settings } from "../../src/config/settings.js";

// `--help` and docs/contract.md "Configuration" say the same thing. The rule: --help is generated
// from src/config/settings.ts, and each contract row must match its --help line exactly: the same
// default (`""` in --help is a parenthesised "(none)"-style default in the table) and the same
// meaning word for word, once the table's `code` backticks are removed.

const contract = readFileSync(join(import.meta.dirname, "..", "..", "docs", "contract.md"), "utf8");

/** The Configuration table: variable → [default, meaning] as written. */
function contractRows(): Map<string, readonly [string, string]> {
  const start = contract.indexOf("\n## Configuration\n");
  const end = contract.indexOf("\n## ", start + 1);
  const rows = new Map<string, readonly [string, string]>();
  for (const line of contract.slice(start, end).split("\n")) {
    const match = /^\| `([A-Z0-9_]+)` \| (.*?) \| (.*) \|$/.exec(line);
    if (match !== null) rows.set(match[1] as string, [match[2] as string, match[3] as string]);
  }
  return rows;
}

/** --help's settings: variable → [default as shown, meaning with its wrapped lines joined]. */
function helpRows(): Map<string, readonly [string, string]> {
  const lines = helpText().split("\n");
  const header = lines.findIndex((line) => line.trim().startsWith("VARIABLE "));
  const meaningColumn = (lines[header] as string).indexOf("MEANING");
  const rows = new Map<string, [string, string]>();
  let last: [string, string] | undefined;
  for (const line of lines.slice(header + 1)) {
    if (line.trim() === "") break;
    if (line.slice(0, meaningColumn).trim() === "") {
      if (last === undefined) throw new Error(`continuation line first: ${line}`);
      last[1] = `${last[1]} ${line.slice(meaningColumn)}`;
      continue;
    }
    const match = /^ {2}([A-Z0-9_]+) +(".*?") +(.*)$/.exec(line);
    if (match === null) throw new Error(`not a setting line: ${line}`);
    last = [match[2] as string, match[3] as string];
    rows.set(match[1] as string, last);
  }
  return rows;
}

describe("--help and docs/contract.md", () => {
  const documented = contractRows();
  const shown = helpRows();

  it("list the same settings, in the same order, as src/config/settings.ts", () => {
    expect([...shown.keys()]).toEqual(Object.keys(settings));
    expect([...documented.keys()]).toEqual(Object.keys(settings));
  });

  it.each(Object.keys(settings))("%s: the same default and the same meaning", (variable) => {
    const [helpDefault, helpMeaning] = shown.get(variable) ?? ["", ""];
    const [docDefault, docMeaning] = documented.get(variable) ?? ["", ""];
    if (helpDefault === '""') expect(docDefault).toMatch(/^\(.+\)$/);
    else expect(docDefault).toBe(`\`${JSON.parse(helpDefault) as string}\``);
    expect(docMeaning.replaceAll("`", "")).toBe(helpMeaning);
  });

  it("fills each meaning's lines within 64 columns, as many words a line as fit", () => {
    const lines = helpText().split("\n");
    const header = lines.findIndex((line) => line.trim().startsWith("VARIABLE "));
    const column = (lines[header] as string).indexOf("MEANING");
    const groups: string[][] = [];
    for (const line of lines.slice(header + 1)) {
      if (line.trim() === "") break;
      const meaning = line.slice(column);
      if (line.slice(0, column).trim() === "") groups.at(-1)?.push(meaning);
      else groups.push([meaning]);
    }
    expect(groups.some((group) => group.length > 1)).toBe(true); // some meanings do wrap
    for (const group of groups) {
      group.forEach((line, i) => {
        if (line.includes(" ")) expect(line.length, line).toBeLessThanOrEqual(64);
        const next = group[i + 1];
        // Greedy: the next line's first word would not have fitted on this one.
        if (next !== undefined)
          expect(line.length + 1 + (next.split(" ")[0] as string).length, line).toBeGreaterThan(64);
      });
    }
  });

  it("lines up the three columns on every row: each default and meaning starts under its heading", () => {
    const lines = helpText().split("\n");
    const header = lines.findIndex((line) => line.trim().startsWith("VARIABLE "));
    const defaultColumn = (lines[header] as string).indexOf("DEFAULT");
    const meaningColumn = (lines[header] as string).indexOf("MEANING");
    for (const line of lines.slice(header + 1)) {
      if (line.trim() === "") break;
      if (line.slice(0, meaningColumn).trim() === "") continue; // a meaning's continuation
      expect(line[defaultColumn - 1], line).toBe(" ");
      expect(line[defaultColumn], line).toBe('"');
      expect(line[meaningColumn - 1], line).toBe(" ");
      expect(line[meaningColumn], line).not.toBe(" ");
    }
  });

  it("wraps no meaning inside a word (the joined lines are the settings table's text)", () => {
    for (const [variable, setting] of Object.entries(settings)) {
      expect(shown.get(variable)?.[1], variable).toBe(setting.help);
    }
  });
});

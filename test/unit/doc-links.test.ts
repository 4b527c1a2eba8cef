import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The README is the front page and docs/ holds the rest: every relative link between them (and to
// files of the repository) must lead somewhere, and every #anchor to a heading of its file. Links
// in fenced code blocks are text, not links; absolute URLs are not checked here.

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const docsDir = join(repoRoot, "docs");
const documents = [
  "README.md",
  ...readdirSync(docsDir)
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** The text outside fenced code blocks and inline code spans. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** [text](target) and ![alt](target), with an optional "title". */
function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (m) => m[1] as string,
  );
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, -1, -2 for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const [, heading] of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = (heading ?? "")
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  for (const [, id] of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) anchors.add(id as string);
  return anchors;
}

/** What is wrong with one link of `file` (a path from the repository root), or undefined. */
function problem(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:, ...
  const [path = "", anchor] = target.split("#", 2);
  // A path that starts with "/" is from the repository's root, as GitHub renders it.
  const resolved =
    path === ""
      ? join(repoRoot, file)
      : path.startsWith("/")
        ? join(repoRoot, decodeURI(path))
        : resolve(repoRoot, dirname(file), decodeURI(path));
  const fromRoot = relative(repoRoot, resolved);
  if (fromRoot.startsWith("..")) return `${target} leaves the repository`;
  if (!existsSync(resolved)) return `${target}: no such file (${fromRoot})`;
  if (anchor === undefined || anchor === "") return undefined;
  if (statSync(resolved).isDirectory() || !resolved.endsWith(".md")) return undefined;
  const anchors = anchorsOf(readFileSync(resolved, "utf8"));
  return anchors.has(anchor) ? undefined : `${target}: ${fromRoot} has no heading for #${anchor}`;
}

describe("links in README.md and docs/", () => {
  it("finds the documents and their links", () => {
    expect(documents).toContain("README.md");
    expect(documents).toContain("docs/contract.md");
    expect(linkTargets(readFileSync(join(repoRoot, "README.md"), "utf8")).length).toBeGreaterThan(5);
  });

  it.each(documents)("%s: every relative link resolves, anchors included", (file) => {
    const markdown = readFileSync(join(repoRoot, file), "utf8");
    const problems = linkTargets(markdown).flatMap((target) => problem(file, target) ?? []);
    expect(problems).toEqual([]);
  });

  it.each(documents)("%s: names no file outside the repository and no work item by number", (file) => {
    const markdown = readFileSync(join(repoRoot, file), "utf8");
    expect(markdown).not.toMatch(/\.\.\/shared\//);
    expect(markdown).not.toMatch(/\b(?:issue|ticket|work item)s?\s*#?\d+/i);
  });

  it("would catch a broken link, a missing anchor and a link out of the repository (not vacuous)", () => {
    expect(problem("README.md", "docs/no-such-file.md")).toMatch(/no such file/);
    expect(problem("README.md", "docs/contract.md#no-such-heading")).toMatch(/no heading/);
    expect(problem("docs/contract.md", "../../shared/SPEC.md")).toMatch(/leaves the repository/);
    expect(problem("docs/kubernetes.md", "contract.md#configuration")).toBeUndefined();
    expect(problem("README.md", "#quick-start")).toBeUndefined();
    expect(linkTargets("```\n[a](nowhere.md)\n```\n`[b](nowhere.md)` [c](there.md)")).toEqual(["there.md"]);
    expect([...anchorsOf("# A `b` c\n## Moving the sidecar's ports\n# A b c")]).toEqual([
      "a-b-c",
      "moving-the-sidecars-ports",
      "a-b-c-1",
    ]);
  });
});

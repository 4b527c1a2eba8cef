import { describe, expect, it } from "vitest";
import { escapeXml, svgDocument } from "../../bench/lib/svg.js";

describe("escapeXml", () => {
  it("escapes &, < and > (ampersand first, so nothing is escaped twice)", () => {
    expect(escapeXml("a < b && c > d")).toBe("a &lt; b &amp;&amp; c &gt; d");
    expect(escapeXml("&lt;")).toBe("&amp;lt;");
  });
});

describe("svgDocument", () => {
  it("is one svg element of the given size with the style, escaped title and subtitle, then the body", () => {
    const svg = svgDocument(100, 50, "A & B", "<sub>", ".x{}", "<g/>");
    expect(
      svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100 50"'),
    ).toBe(true);
    expect(svg).toContain("<style>\n.x{}\n</style>");
    expect(svg).toContain(">A &amp; B</text>");
    expect(svg).toContain('class="note">&lt;sub&gt;</text>');
    expect(svg.indexOf("<g/>")).toBeGreaterThan(svg.indexOf("&lt;sub&gt;"));
    expect(svg.trimEnd().endsWith("<g/>\n</svg>")).toBe(true);
  });
});

// The shell every hand-written chart of the repository shares: self-contained SVG (no fonts or
// scripts to fetch), a white page, a title and a subtitle, then the chart's own panels.

/** Text made safe inside SVG (XML) elements. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A whole SVG document: `style` is the chart's CSS, `body` its panels below the header. */
export function svgDocument(
  width: number,
  height: number,
  title: string,
  subtitle: string,
  style: string,
  body: string,
): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>
${style}
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="22" font-size="17" font-weight="bold" fill="#212529">${escapeXml(title)}</text>
<text x="10" y="40" class="note">${escapeXml(subtitle)}</text>
${body}
</svg>
`;
}

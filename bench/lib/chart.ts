import type { Summary } from "./stats.js";
import { escapeXml, svgDocument } from "./svg.js";

/** One panel of the chart: a figure for each row, the judged round as a bar with a min–max whisker. */
export interface Panel {
  title: string;
  /** Formats an axis/label value. */
  format: (value: number) => string;
  bars: { label: string; value: Summary; highlight: boolean }[];
  /** "higher is better" or "lower is better", printed under the title. */
  better: "higher" | "lower";
}

const WIDTH = 1040;
const LABEL_W = 330;
const VALUE_W = 90;
const BAR_H = 16;
const GAP = 6;
const PANEL_HEAD = 38;
const PANEL_FOOT = 14;

function panelSvg(panel: Panel, top: number): { svg: string; height: number } {
  const plotW = WIDTH - LABEL_W - VALUE_W - 20;
  const finite = panel.bars.flatMap((b) => [b.value.max, b.value.judged]).filter(Number.isFinite);
  const scaleMax = Math.max(...finite, 0) * 1.05 || 1;
  const x = (v: number) => LABEL_W + (Math.max(0, v) / scaleMax) * plotW;
  const parts: string[] = [];
  parts.push(
    `<text x="10" y="${top + 18}" class="title">${escapeXml(panel.title)}</text>`,
    `<text x="10" y="${top + 32}" class="note">${panel.better} is better · bar = the judged round (best; memory: largest), whisker = min–max over rounds</text>`,
  );
  panel.bars.forEach((bar, i) => {
    const y = top + PANEL_HEAD + i * (BAR_H + GAP);
    const { judged: median, min, max } = bar.value;
    parts.push(`<text x="${LABEL_W - 8}" y="${y + BAR_H - 4}" class="label">${escapeXml(bar.label)}</text>`);
    if (!Number.isFinite(median)) {
      parts.push(`<text x="${LABEL_W + 4}" y="${y + BAR_H - 4}" class="note">n/a</text>`);
      return;
    }
    const fill = bar.highlight ? "#d9480f" : "#868e96";
    parts.push(
      `<rect x="${LABEL_W}" y="${y}" width="${(x(median) - LABEL_W).toFixed(1)}" height="${BAR_H}" fill="${fill}"/>`,
    );
    if (Number.isFinite(min) && Number.isFinite(max) && max > min) {
      const cy = y + BAR_H / 2;
      parts.push(
        `<line x1="${x(min).toFixed(1)}" x2="${x(max).toFixed(1)}" y1="${cy}" y2="${cy}" class="whisker"/>`,
        `<line x1="${x(min).toFixed(1)}" x2="${x(min).toFixed(1)}" y1="${cy - 4}" y2="${cy + 4}" class="whisker"/>`,
        `<line x1="${x(max).toFixed(1)}" x2="${x(max).toFixed(1)}" y1="${cy - 4}" y2="${cy + 4}" class="whisker"/>`,
      );
    }
    parts.push(
      `<text x="${WIDTH - VALUE_W}" y="${y + BAR_H - 4}" class="value">${escapeXml(panel.format(median))}</text>`,
    );
  });
  return { svg: parts.join("\n"), height: PANEL_HEAD + panel.bars.length * (BAR_H + GAP) + PANEL_FOOT };
}

const BAR_STYLE = `.title { font-size: 14px; font-weight: bold; fill: #212529; }
.note { font-size: 11px; fill: #868e96; }
.label { font-size: 12px; fill: #212529; text-anchor: end; }
.value { font-size: 12px; fill: #212529; }
.whisker { stroke: #212529; stroke-width: 1.2; }`;

/** A self-contained SVG of stacked horizontal bar panels (no fonts or scripts to fetch). */
export function chartSvg(title: string, subtitle: string, panels: readonly Panel[]): string {
  let top = 50;
  const bodies: string[] = [];
  for (const panel of panels) {
    const { svg, height } = panelSvg(panel, top);
    bodies.push(svg);
    top += height;
  }
  return svgDocument(WIDTH, top + 10, title, subtitle, BAR_STYLE, bodies.join("\n"));
}

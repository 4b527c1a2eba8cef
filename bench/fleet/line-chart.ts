// Hand-written SVG line charts (no fonts or scripts to fetch), in the style of bench/lib/chart.ts:
// stacked panels, one line per variant, an optional shaded window (the trigger).
import { escapeXml, svgDocument } from "../lib/svg.js";

const LINE_STYLE = `.title { font-size: 14px; font-weight: bold; fill: #212529; }
.note { font-size: 11px; fill: #868e96; }
.tick { font-size: 11px; fill: #495057; }
.label { font-size: 12px; fill: #212529; }
.grid { stroke: #e9ecef; stroke-width: 1; }
.axis { stroke: #495057; stroke-width: 1; }`;

export interface Series {
  label: string;
  color: string;
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
}

export interface LinePanel {
  title: string;
  xLabel: string;
  yLabel: string;
  xMax: number;
  xTicks: readonly number[];
  series: readonly Series[];
  /** A shaded x range with its caption (the capacity drop, the outage). */
  shade?: { from: number; to: number; caption: string };
}

export const VARIANT_COLORS: Record<string, string> = {
  "no-retries": "#495057",
  "naive-3x": "#c92a2a",
  "sidecar-before": "#1971c2",
  sidecar: "#d9480f",
  offered: "#adb5bd",
};

const WIDTH = 900;
const LEFT = 60;
const RIGHT = 170;
const PLOT_H = 220;
const PANEL_H = PLOT_H + 80;

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function panelSvg(panel: LinePanel, top: number): string {
  const plotW = WIDTH - LEFT - RIGHT;
  const plotTop = top + 40;
  const yMax = niceMax(Math.max(...panel.series.flatMap((s) => s.points.map((p) => p[1])), 0) * 1.05);
  const x = (v: number) => LEFT + (v / panel.xMax) * plotW;
  const y = (v: number) => plotTop + PLOT_H - (v / yMax) * PLOT_H;
  const parts = [`<text x="10" y="${top + 20}" class="title">${escapeXml(panel.title)}</text>`];
  if (panel.shade) {
    const { from, to, caption } = panel.shade;
    parts.push(
      `<rect x="${x(from).toFixed(1)}" y="${plotTop}" width="${(x(to) - x(from)).toFixed(1)}" height="${PLOT_H}" fill="#ffe8cc"/>`,
      `<text x="${((x(from) + x(to)) / 2).toFixed(1)}" y="${plotTop + 14}" class="note" text-anchor="middle">${escapeXml(caption)}</text>`,
    );
  }
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(
      `<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`,
      `<text x="${LEFT - 6}" y="${(y(v) + 4).toFixed(1)}" class="tick" text-anchor="end">${Number(v.toFixed(2))}</text>`,
    );
  }
  for (const tick of panel.xTicks) {
    parts.push(
      `<text x="${x(tick).toFixed(1)}" y="${plotTop + PLOT_H + 16}" class="tick" text-anchor="middle">${tick}</text>`,
    );
  }
  parts.push(
    `<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${plotTop + PLOT_H}" y2="${plotTop + PLOT_H}" class="axis"/>`,
    `<line x1="${LEFT}" x2="${LEFT}" y1="${plotTop}" y2="${plotTop + PLOT_H}" class="axis"/>`,
    `<text x="${LEFT + plotW / 2}" y="${plotTop + PLOT_H + 34}" class="note" text-anchor="middle">${escapeXml(panel.xLabel)}</text>`,
    `<text x="10" y="${plotTop - 6}" class="note">${escapeXml(panel.yLabel)}</text>`,
  );
  panel.series.forEach((series, i) => {
    const path = series.points.map(
      ([px, py], j) => `${j === 0 ? "M" : "L"}${x(px).toFixed(1)},${y(py).toFixed(1)}`,
    );
    const dash = series.dashed ? ' stroke-dasharray="5,4"' : "";
    parts.push(
      `<path d="${path.join(" ")}" fill="none" stroke="${series.color}" stroke-width="2"${dash}/>`,
      ...(series.points.length <= 12
        ? series.points.map(
            ([px, py]) =>
              `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${series.color}"/>`,
          )
        : []),
      `<line x1="${WIDTH - RIGHT + 12}" x2="${WIDTH - RIGHT + 34}" y1="${plotTop + 10 + i * 18}" y2="${plotTop + 10 + i * 18}" stroke="${series.color}" stroke-width="3"${dash}/>`,
      `<text x="${WIDTH - RIGHT + 40}" y="${plotTop + 14 + i * 18}" class="label">${escapeXml(series.label)}</text>`,
    );
  });
  return parts.join("\n");
}

export function lineChartSvg(title: string, subtitle: string, panels: readonly LinePanel[]): string {
  const height = 50 + panels.length * PANEL_H;
  const bodies = panels.map((panel, i) => panelSvg(panel, 50 + i * PANEL_H));
  return svgDocument(WIDTH, height, title, subtitle, LINE_STYLE, bodies.join("\n"));
}

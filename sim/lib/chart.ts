import { escapeXml } from "../../bench/lib/svg.js";
import type { RunResult } from "./simulate.js";

const COLORS: Record<string, string> = {
  "no-retries": "#868e96",
  "naive-3x": "#e03131",
  "sidecar-before": "#f59f00",
  "grpc-throttle": "#1c7ed6",
  "sre-adaptive": "#7048e8",
  sidecar: "#2b8a3e",
};
// Rows that often coincide get a dash, so that a line hidden under another still shows.
const DASHES: Record<string, string> = {
  "sidecar-before": "7,4",
  "grpc-throttle": "3,3",
  "sre-adaptive": "1,3",
};
const color = (variant: string) => COLORS[variant] ?? "#212529";
// The charts of the repository share one escaping (bench/lib/svg.ts); this one keeps its own layout.
const esc = escapeXml;

interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

/** One line panel: x and y axes with ticks, a polyline per series, a legend. Hand-written SVG. */
function linePanel(
  title: string,
  xLabel: string,
  series: readonly Series[],
  box: { x: number; y: number; w: number; h: number },
  yMax: number,
  xs: readonly number[],
  yFormat: (v: number) => string,
  logX: boolean,
): string {
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const fx = (v: number) =>
    box.x + (logX ? Math.log(v / xMin) / Math.log(xMax / xMin) : (v - xMin) / (xMax - xMin || 1)) * box.w;
  const fy = (v: number) => box.y + box.h - (Math.min(v, yMax) / yMax) * box.h;
  const parts = [
    `<text x="${box.x}" y="${box.y - 10}" class="title">${esc(title)}</text>`,
    `<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#ced4da"/>`,
    `<text x="${box.x + box.w / 2}" y="${box.y + box.h + 30}" class="axis" text-anchor="middle">${esc(xLabel)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(
      `<line x1="${box.x}" x2="${box.x + box.w}" y1="${fy(v).toFixed(1)}" y2="${fy(v).toFixed(1)}" stroke="#f1f3f5"/>`,
      `<text x="${box.x - 6}" y="${(fy(v) + 4).toFixed(1)}" class="axis" text-anchor="end">${yFormat(v)}</text>`,
    );
  }
  const ticks = logX || xs.length <= 12 ? xs : xs.filter((_, i) => i % 10 === 0);
  for (const v of ticks) {
    parts.push(
      `<text x="${fx(v).toFixed(1)}" y="${box.y + box.h + 14}" class="axis" text-anchor="middle">${v}</text>`,
    );
  }
  for (const s of series) {
    const pts = s.points.map(([x, y]) => `${fx(x).toFixed(1)},${fy(y).toFixed(1)}`).join(" ");
    const dash = DASHES[s.name] === undefined ? "" : ` stroke-dasharray="${DASHES[s.name]}"`;
    parts.push(`<polyline points="${pts}" fill="none" stroke="${color(s.name)}" stroke-width="2"${dash}/>`);
  }
  return parts.join("\n");
}

function legend(names: readonly string[], x: number, y: number): string {
  return names
    .map(
      (n, i) =>
        `<rect x="${x + i * 150}" y="${y - 9}" width="12" height="12" fill="${color(n)}"/><text x="${x + i * 150 + 16}" y="${y + 1}" class="axis">${esc(n)}</text>`,
    )
    .join("\n");
}

function svg(width: number, height: number, title: string, subtitle: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<title>${esc(title)}</title>
<style>
.title { font-size: 13px; font-weight: bold; fill: #212529; }
.axis { font-size: 11px; fill: #495057; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="24" font-size="17" font-weight="bold" fill="#212529">${esc(title)}</text>
<text x="16" y="42" class="axis">${esc(subtitle)}</text>
${body}
</svg>
`;
}

const FAILURE_SCENARIOS: readonly [string, number][] = [
  ["random-5", 5],
  ["random-30", 30],
  ["random-50", 50],
  ["random-80", 80],
  ["random-100", 100],
];

/** Attempts per request and success against the failure rate, one panel pair per pod count. */
export function failureChart(
  results: readonly RunResult[],
  podCounts: readonly number[],
  note: string,
): string {
  const variants = [...new Set(results.map((r) => r.variant))];
  const xs = FAILURE_SCENARIOS.map(([, p]) => p);
  const parts: string[] = [];
  const w = 300;
  const h = 180;
  podCounts.forEach((pods, col) => {
    const series = (pick: (r: RunResult) => number): Series[] =>
      variants.map((v) => ({
        name: v,
        points: FAILURE_SCENARIOS.flatMap(([name, p]) => {
          const r = results.find((x) => x.scenario === name && x.variant === v && x.pods === pods);
          return r === undefined ? [] : [[p, pick(r)] as const];
        }),
      }));
    const x = 70 + col * (w + 70);
    parts.push(
      linePanel(
        `${pods} pods: upstream attempts per request`,
        "random failures, %",
        series((r) => r.attemptsPerRequest),
        { x, y: 80, w, h },
        4,
        xs,
        (v) => v.toFixed(1),
        false,
      ),
      linePanel(
        `${pods} pods: success`,
        "random failures, %",
        series((r) => r.success * 100),
        { x, y: 330, w, h },
        100,
        xs,
        (v) => `${v}%`,
        false,
      ),
    );
  });
  parts.push(legend(variants, 70, 575));
  return svg(
    70 + podCounts.length * (w + 70),
    600,
    "Retries against random failures: amplification and success",
    note,
    parts.join("\n"),
  );
}

/** Goodput per second over the run of one scenario, a panel per pod count. */
export function goodputChart(
  results: readonly RunResult[],
  scenario: string,
  podCounts: readonly number[],
  note: string,
): string {
  const rows = results.filter((r) => r.scenario === scenario);
  const variants = [...new Set(rows.map((r) => r.variant))];
  const first = rows[0];
  if (first === undefined) return svg(400, 100, scenario, "no results", "");
  const xs = first.goodput.map((_, i) => i);
  const yMax = Math.max(...rows.flatMap((r) => r.goodput), 1) * 1.1;
  const parts: string[] = [];
  const w = 300;
  podCounts.forEach((pods, col) => {
    const series = variants.map((v) => {
      const r = rows.find((x) => x.variant === v && x.pods === pods);
      return { name: v, points: (r?.goodput ?? []).map((g, i) => [i, g] as const) };
    });
    parts.push(
      linePanel(
        `${pods} pods: goodput (2xx in time) per second`,
        "time, s",
        series,
        { x: 70 + col * (w + 70), y: 80, w, h: 200 },
        Math.ceil(yMax),
        xs,
        (v) => v.toFixed(0),
        false,
      ),
    );
  });
  parts.push(legend(variants, 70, 345));
  return svg(
    70 + podCounts.length * (w + 70),
    370,
    `${scenario}: goodput per second`,
    note,
    parts.join("\n"),
  );
}

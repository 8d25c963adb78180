/** One line of a chart: a name and its points. */
export interface ChartSeries {
  name: string;
  points: ReadonlyArray<{ x: number; y: number }>;
  /** Dashed lines tell a second measure (e.g. p50) of the same subject apart. */
  dashed?: boolean;
}

/** What `lineChartSvg` draws. */
export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
}

const WIDTH = 640;
const HEIGHT = 360;
const MARGIN = { left: 64, right: 170, top: 36, bottom: 48 };
// Colour-blind-safe (Okabe–Ito); series beyond it reuse the colours.
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** 1, 2 or 5 times a power of ten, so that about `count` ticks span `max`. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

function formatTick(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toPrecision(2);
}

/**
 * A self-contained SVG line chart (linear axes from 0, a legend on the
 * right), for sweeps such as latency percentiles against observers. No
 * dependency: the figure is committed beside the Markdown that shows it.
 */
export function lineChartSvg(chart: LineChart): string {
  const all = chart.series.flatMap((series) => series.points);
  const maxX = Math.max(1, ...all.map((point) => point.x));
  const maxY = Math.max(1e-9, ...all.map((point) => point.y));
  const xStep = niceStep(maxX, 5);
  const yStep = niceStep(maxY, 5);
  const xTop = Math.ceil(maxX / xStep) * xStep;
  const yTop = Math.ceil(maxY / yStep) * yStep;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number): number => MARGIN.left + (x / xTop) * plotWidth;
  const py = (y: number): number => MARGIN.top + plotHeight - (y / yTop) * plotHeight;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(chart.title)}</text>`,
  ];
  for (let y = 0; y <= yTop + 1e-9; y += yStep) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${formatTick(y)}</text>`);
  }
  for (let x = 0; x <= xTop + 1e-9; x += xStep) {
    out.push(`<text x="${px(x).toFixed(1)}" y="${MARGIN.top + plotHeight + 18}" text-anchor="middle">${formatTick(x)}</text>`);
  }
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotHeight}" stroke="#333"/>`);
  out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight}" stroke="#333"/>`);
  out.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`);
  out.push(`<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`);
  chart.series.forEach((series, index) => {
    const colour = COLOURS[index % COLOURS.length] as string;
    const dash = series.dashed === true ? ' stroke-dasharray="5 4"' : '';
    const points = [...series.points].sort((a, b) => a.x - b.x);
    const path = points.map((point) => `${px(point.x).toFixed(1)},${py(point.y).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${path}" fill="none" stroke="${colour}" stroke-width="2"${dash}/>`);
    for (const point of points) out.push(`<circle cx="${px(point.x).toFixed(1)}" cy="${py(point.y).toFixed(1)}" r="3" fill="${colour}"/>`);
    const legendY = MARGIN.top + 8 + index * 18;
    const legendX = MARGIN.left + plotWidth + 14;
    out.push(`<line x1="${legendX}" x2="${legendX + 22}" y1="${legendY}" y2="${legendY}" stroke="${colour}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${legendX + 28}" y="${legendY + 4}">${escapeXml(series.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

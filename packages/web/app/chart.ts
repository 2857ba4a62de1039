/**
 * A small SVG line chart: a few series over log time, with the first and last
 * times and the lowest and highest values as axis labels. Display only; the
 * exact figures are in the table.
 */
import { svgElement } from './dom.js';

export interface ChartSeries {
  readonly name: string;
  /** A CSS class naming its colour (style.css). */
  readonly className: string;
  readonly points: readonly { readonly timeMs: number; readonly value: number }[];
}

const width = 560;
const height = 180;
const margin = { left: 64, right: 12, top: 12, bottom: 28 };

function bounds(values: readonly number[]): [number, number] {
  const low = Math.min(0, ...values);
  let high = Math.max(...values);
  if (!(high > low)) high = low + 1;
  return [low, high];
}

function shortTime(timeMs: number): string {
  return new Date(timeMs).toISOString().replace('T', ' ').slice(0, 19);
}

function axisLabel(x: number, y: number, text: string, anchor: string): SVGElement {
  return svgElement('text', { x, y, 'text-anchor': anchor, class: 'axis-label' }, text);
}

export function lineChart(title: string, series: readonly ChartSeries[]): SVGElement {
  const points = series.flatMap((line) => line.points);
  const svg = svgElement(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart' },
    svgElement('title', {}, title),
  );
  if (points.length === 0) return svg;
  const [firstMs, lastMs] = [
    Math.min(...points.map((point) => point.timeMs)),
    Math.max(...points.map((point) => point.timeMs)),
  ];
  const [low, high] = bounds(points.map((point) => point.value));
  const spanMs = lastMs > firstMs ? lastMs - firstMs : 1;
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const xOf = (timeMs: number): number => margin.left + ((timeMs - firstMs) / spanMs) * plotWidth;
  const yOf = (value: number): number => margin.top + (1 - (value - low) / (high - low)) * plotHeight;
  svg.append(
    svgElement('rect', { x: margin.left, y: margin.top, width: plotWidth, height: plotHeight, class: 'plot' }),
    axisLabel(margin.left - 6, margin.top + 10, String(high), 'end'),
    axisLabel(margin.left - 6, height - margin.bottom, String(low), 'end'),
    axisLabel(margin.left, height - 8, shortTime(firstMs), 'start'),
    axisLabel(width - margin.right, height - 8, shortTime(lastMs), 'end'),
  );
  for (const line of series) {
    if (line.points.length === 0) continue;
    // One point alone is drawn as a short flat segment, so it shows.
    const drawn =
      line.points.length === 1
        ? [line.points[0]!, { ...line.points[0]!, timeMs: lastMs + (lastMs === firstMs ? 1 : 0) }]
        : line.points;
    const path = drawn
      .map((point, index) => `${index === 0 ? 'M' : 'L'}${xOf(point.timeMs).toFixed(1)},${yOf(point.value).toFixed(1)}`)
      .join(' ');
    svg.append(svgElement('path', { d: path, class: `line ${line.className}` }, svgElement('title', {}, line.name)));
  }
  return svg;
}

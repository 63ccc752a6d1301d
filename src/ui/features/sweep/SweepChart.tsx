/**
 * Perplexity against sparsity, one line per method, on a log axis: uPlot (small, canvas, with a live legend and
 * hover values) rather than hand-drawn SVG, since this chart is the sweep's result and users read values off it
 * and save it as a picture.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { SweepResult } from '../../../core/sweep/sweep';
import { formatPercent, formatPerplexity, METHOD_LABELS } from '../../shared/format';
import { useWidth } from '../../shared/useWidth';
import { METHOD_COLORS } from '../explorer/CurveChart';
import { sweepChartData } from './chart-data';

const HEIGHT = 280;
const DENSE_COLOR = '#6b7280';

const shown = (value: number | null | undefined, format: (v: number) => string) =>
  value === null || value === undefined ? '—' : format(value);

function chartOptions(results: readonly SweepResult[], densePerplexity: number | undefined, width: number) {
  const { xs, series } = sweepChartData(results);
  const columns: Array<Array<number | null>> = [xs, ...series.map((s) => s.values)];
  const lines: uPlot.Series[] = series.map((s) => ({
    label: s.pattern === 'unstructured' ? METHOD_LABELS[s.method] : `${METHOD_LABELS[s.method]} ${s.pattern}`,
    stroke: METHOD_COLORS[s.method],
    width: s.pattern === 'unstructured' ? 2 : 0,
    spanGaps: true,
    points: { show: true, size: s.pattern === 'unstructured' ? 6 : 9, fill: METHOD_COLORS[s.method] },
    value: (_plot, value) => shown(value, formatPerplexity),
  }));
  if (densePerplexity !== undefined) {
    columns.push(xs.map(() => densePerplexity));
    lines.push({
      label: 'Dense',
      stroke: DENSE_COLOR,
      dash: [6, 4],
      width: 1.5,
      points: { show: false },
      value: (_plot, value) => shown(value, formatPerplexity),
    });
  }
  const options: uPlot.Options = {
    width,
    height: HEIGHT,
    scales: { x: { time: false }, y: { distr: 3, log: 10 } },
    series: [
      { label: 'Sparsity', value: (_plot, value) => shown(value, (v) => formatPercent(v, 0)) },
      ...lines,
    ],
    axes: [
      { label: 'Sparsity', values: (_plot, ticks) => ticks.map((t) => formatPercent(t, 0)) },
      {
        label: 'Perplexity (log scale)',
        size: 64,
        // uPlot leaves the log axis' crowded minor ticks unlabelled (null); the rest read as plain numbers.
        values: (_plot, ticks) => ticks.map((t) => (t == null ? '' : String(Number(t.toPrecision(3))))),
      },
    ],
    cursor: { points: { size: 8 } },
  };
  return { options, data: columns as uPlot.AlignedData };
}

/** The chart's canvas on white, as a PNG file (the legend is the page's, not the picture's). */
export function chartPng(box: HTMLElement): Promise<Blob | null> {
  const canvas = box.querySelector('canvas');
  if (!canvas) return Promise.resolve(null);
  const picture = document.createElement('canvas');
  picture.width = canvas.width;
  picture.height = canvas.height;
  const context = picture.getContext('2d');
  if (!context) return Promise.resolve(null);
  context.fillStyle = '#fff';
  context.fillRect(0, 0, picture.width, picture.height);
  context.drawImage(canvas, 0, 0);
  return new Promise((resolve) => picture.toBlob(resolve, 'image/png'));
}

export function SweepChart({
  results,
  densePerplexity,
  plotRef,
}: {
  results: readonly SweepResult[];
  densePerplexity?: number;
  /** The element holding the canvas, for the PNG export. */
  plotRef: React.RefObject<HTMLDivElement | null>;
}) {
  const box = useRef<HTMLElement>(null);
  const width = useWidth(box, 560);
  useEffect(() => {
    const element = plotRef.current;
    if (!element || results.length === 0) return;
    const { options, data } = chartOptions(results, densePerplexity, Math.max(240, width - 8));
    const plot = new uPlot(options, data, element);
    return () => plot.destroy();
  }, [results, densePerplexity, width, plotRef]);
  return (
    <figure
      className="chart sweep-chart"
      ref={box}
      aria-label="Perplexity against sparsity, one line per method (log scale)"
    >
      <div ref={plotRef} />
      <figcaption className="muted">
        Perplexity on the evaluation text against the sparsity asked for (log scale)
        {densePerplexity !== undefined ? '; the dashed line is the dense model' : ''}.
      </figcaption>
    </figure>
  );
}

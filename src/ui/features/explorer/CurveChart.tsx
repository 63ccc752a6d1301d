import { useRef } from 'react';
import type { PruneMethod } from '../../../core/pipeline/types';
import type { CurvePoint } from '../../../worker/api';
import { logScale } from '../../shared/chart-scale';
import { formatError, formatPercent, METHOD_LABELS } from '../../shared/format';
import { LogGrid } from '../../shared/LogGrid';
import { useWidth } from '../../shared/useWidth';

const HEIGHT = 210;
const LEFT = 44;
const BOTTOM = 26;
const TOP = 10;
// Room for half of the last axis label ("100%"), which is centred on the plot's right edge.
const RIGHT = 20;
const METHODS: PruneMethod[] = ['sparsegpt', 'wanda', 'magnitude'];
export const METHOD_COLORS: Record<PruneMethod, string> = {
  sparsegpt: '#2f6feb',
  wanda: '#2b8a3e',
  magnitude: '#d9480f',
};

/** Error against sparsity for the three methods on one layer, with the explorer's current setting marked. */
export function CurveChart(props: {
  points: CurvePoint[];
  marker?: { sparsity: number; error: number; method: PruneMethod };
}) {
  const { points, marker } = props;
  const box = useRef<HTMLDivElement>(null);
  const width = useWidth(box, 480);
  const values = points.flatMap((p) => METHODS.map((m) => p[m]));
  if (marker) values.push(marker.error);
  const scale = logScale(values);
  const plotWidth = Math.max(60, width - LEFT - RIGHT);
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const x = (s: number) => LEFT + s * plotWidth;
  const y = (v: number) => TOP + plotHeight * (1 - scale.at(Math.max(v, scale.min)));
  return (
    <figure className="chart" ref={box}>
      <svg
        width={width}
        height={HEIGHT}
        viewBox={`0 0 ${width} ${HEIGHT}`}
        role="img"
        aria-label="Relative error of this layer against sparsity for SparseGPT, Wanda and magnitude pruning"
      >
        <LogGrid ticks={scale.ticks} y={y} left={LEFT} plotWidth={plotWidth} />
        {[0, 0.25, 0.5, 0.75, 1].map((s) => (
          <text key={s} className="axis" x={x(s)} y={HEIGHT - 8} textAnchor="middle">
            {formatPercent(s, 0)}
          </text>
        ))}
        {METHODS.map((method) => (
          <polyline
            key={method}
            fill="none"
            stroke={METHOD_COLORS[method]}
            strokeWidth={2}
            points={points.map((p) => `${x(p.sparsity)},${y(p[method])}`).join(' ')}
          >
            <title>{METHOD_LABELS[method]}</title>
          </polyline>
        ))}
        {METHODS.flatMap((method) =>
          points.map((p) => (
            <circle
              key={`${method}-${p.sparsity}`}
              cx={x(p.sparsity)}
              cy={y(p[method])}
              r={2.5}
              fill={METHOD_COLORS[method]}
            >
              <title>
                {METHOD_LABELS[method]} at {formatPercent(p.sparsity, 0)}: {formatError(p[method])}
              </title>
            </circle>
          )),
        )}
        {marker && (
          <g className="marker">
            <line x1={x(marker.sparsity)} x2={x(marker.sparsity)} y1={TOP} y2={TOP + plotHeight} />
            <circle cx={x(marker.sparsity)} cy={y(marker.error)} r={5} fill={METHOD_COLORS[marker.method]} />
          </g>
        )}
      </svg>
      <figcaption>
        <span className="muted">Relative error against sparsity (log scale)</span>
        <span className="legend">
          {METHODS.map((m) => (
            <span key={m}>
              <i style={{ background: METHOD_COLORS[m] }} />
              {METHOD_LABELS[m]}
            </span>
          ))}
        </span>
      </figcaption>
    </figure>
  );
}

import { tickLabel } from './chart-scale';

/** The horizontal grid lines of a log-scale y axis, each labelled at the plot's left edge (SVG, inside a chart). */
export function LogGrid(props: {
  ticks: number[];
  y(value: number): number;
  left: number;
  plotWidth: number;
}) {
  const { ticks, y, left, plotWidth } = props;
  return ticks.map((tick) => (
    <g key={tick}>
      <line className="grid-line" x1={left} x2={left + plotWidth} y1={y(tick)} y2={y(tick)} />
      <text className="axis" x={left - 6} y={y(tick) + 4} textAnchor="end">
        {tickLabel(tick)}
      </text>
    </g>
  ));
}

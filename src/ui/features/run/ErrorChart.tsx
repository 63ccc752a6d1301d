import { useRef } from 'react';
import type { LayerResult } from '../../../core/pipeline/types';
import { kindOf, logScale, PALETTE } from '../../shared/chart-scale';
import { formatError } from '../../shared/format';
import { LogGrid } from '../../shared/LogGrid';
import { useWidth } from '../../shared/useWidth';

const HEIGHT = 200;
const LEFT = 44;
const BOTTOM = 22;
const TOP = 8;

/** Relative reconstruction error of every pruned layer, in run order, one colour per kind of linear. */
export function ErrorChart({ layers, blocks }: { layers: LayerResult[]; blocks?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const width = useWidth(box);
  const pruned = layers.filter((l) => !l.skipped);
  const kinds = [...new Set(pruned.map((l) => kindOf(l.name)))];
  const scale = logScale(pruned.map((l) => l.relativeError));
  const perBlock = Math.max(1, kinds.length);
  const blockCount = Math.max(blocks ?? 0, ...pruned.map((l) => l.block + 1), 1);
  const plotWidth = Math.max(60, width - LEFT - 8);
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const slot = plotWidth / (blockCount * perBlock);
  const y = (v: number) => TOP + plotHeight * (1 - scale.at(v));
  const labelEvery = Math.ceil(28 / Math.max(1, slot * perBlock));
  return (
    <figure className="chart" ref={box}>
      <svg
        width={width}
        height={HEIGHT}
        viewBox={`0 0 ${width} ${HEIGHT}`}
        role="img"
        aria-label={`Relative reconstruction error of ${pruned.length} pruned layers, by block, on a log scale`}
      >
        <LogGrid ticks={scale.ticks} y={y} left={LEFT} plotWidth={plotWidth} />
        {Array.from({ length: blockCount }, (_, i) => i).map((block) => (
          <g key={`block-${block}`}>
            {block > 0 && (
              <line
                className="block-line"
                x1={LEFT + block * perBlock * slot}
                x2={LEFT + block * perBlock * slot}
                y1={TOP}
                y2={TOP + plotHeight}
              />
            )}
            {block % labelEvery === 0 && (
              <text
                className="axis"
                x={LEFT + (block + 0.5) * perBlock * slot}
                y={HEIGHT - 6}
                textAnchor="middle"
              >
                {block}
              </text>
            )}
          </g>
        ))}
        {pruned.map((layer) => {
          const kind = kinds.indexOf(kindOf(layer.name));
          const x = LEFT + (layer.block * perBlock + kind) * slot;
          const top = y(Math.max(layer.relativeError, scale.min));
          return (
            <rect
              key={layer.tensor}
              x={x + slot * 0.12}
              width={Math.max(1, slot * 0.76)}
              y={top}
              height={Math.max(1, TOP + plotHeight - top)}
              fill={PALETTE[kind % PALETTE.length]}
              rx={Math.min(2, slot * 0.2)}
            >
              <title>
                block {layer.block} · {layer.name}: {formatError(layer.relativeError)}
              </title>
            </rect>
          );
        })}
      </svg>
      <figcaption>
        <span className="muted">Relative error by block (log scale)</span>
        <span className="legend">
          {kinds.map((kind, i) => (
            <span key={kind}>
              <i style={{ background: PALETTE[i % PALETTE.length] }} />
              {kind}
            </span>
          ))}
        </span>
      </figcaption>
    </figure>
  );
}

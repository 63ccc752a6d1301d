import { useEffect, useRef } from 'react';
import type { LayerResult } from '../../core/pipeline/types';
import { formatError, formatMs, formatPercent } from './format';

/** The per-layer results as they arrive; follows the newest row unless the user scrolled up to read. */
export function LayerTable({
  layers,
  caption,
  live,
}: {
  layers: LayerResult[];
  caption: string;
  live?: boolean;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  // A column of targets only where they differ from layer to layer (per-layer targets, an OWL allocation).
  const showTargets = new Set(layers.filter((l) => !l.skipped).map((l) => l.target)).size > 1;
  const pinned = useRef(true);
  useEffect(() => {
    const element = scroller.current;
    if (live && element && pinned.current && layers.length > 0) element.scrollTop = element.scrollHeight;
  }, [layers.length, live]);
  return (
    <div
      className="table-scroll"
      ref={scroller}
      onScroll={(e) => {
        const el = e.currentTarget;
        pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}
    >
      <table className="layers">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Block</th>
            <th scope="col">Layer</th>
            <th scope="col" className="optional">
              Shape
            </th>
            {showTargets && (
              <th scope="col" className="num">
                Target
              </th>
            )}
            <th scope="col" className="num">
              Sparsity
            </th>
            <th scope="col" className="num">
              Rel. error
            </th>
            <th scope="col" className="num optional">
              Time
            </th>
          </tr>
        </thead>
        <tbody>
          {layers.map((layer) => (
            <tr key={layer.tensor} className={layer.skipped ? 'skipped' : undefined}>
              <td>{layer.block}</td>
              <th scope="row">
                <code>{layer.name}</code>
              </th>
              <td className="optional">
                {layer.rows}×{layer.cols}
              </td>
              {showTargets && (
                <td className="num">
                  {layer.skipped || layer.target === undefined ? '—' : formatPercent(layer.target)}
                </td>
              )}
              <td className="num">{layer.skipped ? 'dense' : formatPercent(layer.sparsity)}</td>
              <td className="num" title={layer.skipped ?? String(layer.relativeError)}>
                {layer.skipped ? '—' : formatError(layer.relativeError)}
              </td>
              <td className="num optional">{formatMs(layer.ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The OWL allocation a run measured before pruning: each block's outlier ratio and the sparsity it was given. */
import type { BlockAllocation } from '../../../core/pipeline/types';
import { formatPercent } from '../../shared/format';

export function AllocationTable({ allocation }: { allocation: BlockAllocation }) {
  return (
    <table className="layers allocation">
      <caption>OWL allocation</caption>
      <thead>
        <tr>
          <th scope="col">Block</th>
          <th scope="col" className="num">
            Outlier ratio
          </th>
          <th scope="col" className="num">
            Sparsity
          </th>
        </tr>
      </thead>
      <tbody>
        {allocation.blockSparsity.map((sparsity, block) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: one row per block, in block order
          <tr key={block}>
            <td>{block}</td>
            <td className="num">{formatPercent(allocation.outlierRatios[block] ?? Number.NaN, 2)}</td>
            <td className="num">{formatPercent(sparsity)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../../core/settings/prune-settings';
import { matchCount, owlRange, withLayerTarget } from './targets';

const linear = (block: number, name: string) => ({
  block,
  name,
  tensor: `model.layers.${block}.${name}.weight`,
  rows: 8,
  cols: 8,
});

describe('per-layer targets', () => {
  it('replaces the entry for the same layers in place, else appends', () => {
    const targets = [
      { layers: 'a', sparsity: 0.1 },
      { layers: 'b', sparsity: 0.2 },
    ];
    expect(withLayerTarget(targets, 'a', 0.7)).toEqual([
      { layers: 'a', sparsity: 0.7 },
      { layers: 'b', sparsity: 0.2 },
    ]);
    expect(withLayerTarget(targets, 'c', 0.3)).toHaveLength(3);
  });

  it('counts the linears an entry matches as the skip list does', () => {
    const prunable = [linear(0, 'mlp.down_proj'), linear(0, 'mlp.up_proj'), linear(1, 'mlp.down_proj')];
    expect(matchCount('mlp.down_proj', prunable)).toBe(2);
    expect(matchCount('layers.0.', prunable)).toBe(2);
    expect(matchCount('model.layers.1.mlp.down_proj.weight', prunable)).toBe(1);
    expect(matchCount('mlp.up', prunable)).toBe(0);
  });

  it("shows OWL's range as the target ± λ", () => {
    expect(owlRange({ ...DEFAULT_SETTINGS, sparsity: 0.5 })).toEqual({ low: 0.42, high: 0.58 });
    expect(owlRange({ ...DEFAULT_SETTINGS, sparsity: 0.05, owlLambda: 0.1 }).low).toBe(0);
  });
});

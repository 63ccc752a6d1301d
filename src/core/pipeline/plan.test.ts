import { describe, expect, it } from 'vitest';
import { type PlannedLinear, patternMismatchWarning, planLinears } from './plan';
import { DEFAULT_SETTINGS, type PruneSettings } from './types';

/** The demo's shapes: five blocks of q, k, v, o (64 columns), gate, up (64) and down (172 columns). */
const DEMO: PlannedLinear[] = Array.from({ length: 5 }, (_, block) =>
  [
    'self_attn.q_proj',
    'self_attn.k_proj',
    'self_attn.v_proj',
    'self_attn.o_proj',
    'mlp.gate_proj',
    'mlp.up_proj',
  ]
    .map((name) => ({ tensor: `model.layers.${block}.${name}.weight`, block, name, cols: 64 }))
    .concat({
      tensor: `model.layers.${block}.mlp.down_proj.weight`,
      block,
      name: 'mlp.down_proj',
      cols: 172,
    }),
).flat();

const settings = (patch: Partial<PruneSettings>): PruneSettings => ({ ...DEFAULT_SETTINGS, ...patch });

describe('planning which linears a run prunes', () => {
  it('leaves the linears N:M cannot divide dense, and says so once for the model', () => {
    const fourOfEight = settings({ pattern: { n: 4, m: 8 } });
    const plans = planLinears(DEMO, fourOfEight);
    const dense = [...plans.values()].filter((p) => !p.prune).map((p) => p.tensor);
    expect(dense).toEqual([0, 1, 2, 3, 4].map((b) => `model.layers.${b}.mlp.down_proj.weight`));
    expect(patternMismatchWarning(DEMO, fourOfEight)).toBe(
      '4:8 needs input columns that are a multiple of 8: 5 linears stay dense, mlp.down_proj (172 input columns) ' +
        'in blocks 0–4.',
    );
    // 2:4 divides 172: nothing to say; neither for unstructured.
    expect(patternMismatchWarning(DEMO, settings({ pattern: { n: 2, m: 4 } }))).toBeUndefined();
    expect(patternMismatchWarning(DEMO, settings({ pattern: 'unstructured' }))).toBeUndefined();
  });

  it('does not count skipped linears as the pattern’s, and names scattered blocks', () => {
    const warning = patternMismatchWarning(
      DEMO,
      settings({ pattern: { n: 4, m: 8 }, skipLayers: ['layers.1.', 'layers.3.'] }),
    );
    expect(warning).toBe(
      '4:8 needs input columns that are a multiple of 8: 3 linears stay dense, mlp.down_proj (172 input columns) ' +
        'in blocks 0, 2, 4.',
    );
    expect(planLinears(DEMO, settings({ skipLayers: ['mlp.down_proj'] })).get(DEMO[6].tensor)?.reason).toBe(
      'skipped ("mlp.down_proj" in the layers to skip)',
    );
  });
});

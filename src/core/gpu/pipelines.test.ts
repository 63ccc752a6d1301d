import { describe, expect, it } from 'vitest';
import { useGpu } from '../../../test/gpu';
import { computePipeline, pipelinesUsed, precompilePipelines } from './pipelines';

const kernel = (n: number) =>
  `@group(0) @binding(0) var<storage, read_write> out: array<f32>;\n` +
  `@compute @workgroup_size(1) fn main() { out[0] = ${n}.0; }`;

describe('pipelines compiled ahead of use', () => {
  const gpu = useGpu();

  it.each([
    ['asynchronously', false],
    ['one by one', true],
  ])(
    '%s: computePipeline then finds them ready (no blocking compile); a broken shader is skipped',
    async (_, oneByOne) => {
      const ctx = await gpu();
      const base = oneByOne ? 10 : 20;
      const specs = [{ code: kernel(base) }, { code: kernel(base + 1), constants: {} }];
      const unused = { code: kernel(base + 5) };
      const uncaptured: unknown[] = [];
      ctx.device.addEventListener('uncapturederror', (event) => uncaptured.push(event));
      await precompilePipelines(ctx, [...specs, unused, { code: 'fn broken( {' }], { oneByOne });
      const before = ctx.activity.pipelines.count;
      const pipeline = computePipeline(ctx, specs[0]);
      // The precompiled pipeline itself: the same object on every call, and no compile counted for it.
      const second = computePipeline(ctx, specs[1].code);
      expect(computePipeline(ctx, specs[1].code)).toBe(second);
      expect(ctx.activity.pipelines.count).toBe(before);
      expect(computePipeline(ctx, specs[0])).toBe(pipeline);
      expect(uncaptured).toEqual([]);
      // What the run used is what the next one will compile ahead; what was only compiled ahead is not.
      expect(pipelinesUsed(ctx).map((s) => s.code)).toEqual(
        expect.arrayContaining([specs[0].code, specs[1].code]),
      );
      expect(pipelinesUsed(ctx).some((s) => s.code === unused.code)).toBe(false);
    },
  );
});

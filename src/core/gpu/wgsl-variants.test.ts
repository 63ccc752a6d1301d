import { describe, expect, it } from 'vitest';
import { joinShaders, selectVariant } from './wgsl-variants';

const code = ['a', '//#if WIDE', 'wide', '//#else', 'narrow', '//#endif', 'b'].join('\n');

describe('selectVariant', () => {
  it('keeps the branch the flag names and drops the directives', () => {
    expect(selectVariant(code, { WIDE: true })).toBe('a\nwide\nb');
    expect(selectVariant(code, { WIDE: false })).toBe('a\nnarrow\nb');
  });

  it('refuses unbalanced or unnamed variants', () => {
    expect(() => selectVariant(code, {})).toThrow(/no value given for WIDE/);
    expect(() => selectVariant('//#if A\n//#if B', { A: true, B: true })).toThrow(/nested/);
    expect(() => selectVariant('//#if A', { A: true })).toThrow(/without \/\/#endif/);
    expect(() => selectVariant('//#endif', {})).toThrow(/without \/\/#if/);
  });
});

describe('joinShaders', () => {
  it('joins sources in order with their enable directives first', () => {
    const joined = joinShaders('fn helper() {}', 'enable subgroups;\nfn main() {}');
    expect(joined).toBe('enable subgroups;\nfn helper() {}\nfn main() {}');
    expect(joinShaders('a', 'b')).toBe('a\nb');
  });
});

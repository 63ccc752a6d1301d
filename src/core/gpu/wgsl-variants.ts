/**
 * WGSL has no preprocessor, and a storage binding's element type (f32 or vec4<f32>) cannot depend on an override
 * constant. Shaders that have a faster form for aligned data therefore hold both forms between comment lines
 *   //#if NAME … //#else … //#endif   (no nesting)
 * and the host keeps one of them before compiling.
 */
export function selectVariant(code: string, flags: Record<string, boolean>): string {
  // Hosts ask on every dispatch they encode, always with the same few shader strings: keep what was selected.
  let byFlags = variantsOf.get(code);
  if (!byFlags) {
    byFlags = new Map();
    variantsOf.set(code, byFlags);
  }
  const key = JSON.stringify(flags);
  let selected = byFlags.get(key);
  if (selected === undefined) {
    selected = keepVariant(code, flags);
    byFlags.set(key, selected);
  }
  return selected;
}

const variantsOf = new Map<string, Map<string, string>>();

function keepVariant(code: string, flags: Record<string, boolean>): string {
  const kept: string[] = [];
  let keeping: boolean | undefined;
  for (const line of code.split('\n')) {
    const directive = /^\s*\/\/#(if|else|endif)\b\s*(\w*)/.exec(line);
    if (!directive) {
      if (keeping !== false) kept.push(line);
      continue;
    }
    const [, word, name] = directive;
    if (word === 'if') {
      if (keeping !== undefined) throw new Error('WGSL variants: nested //#if');
      if (!(name in flags)) throw new Error(`WGSL variants: no value given for ${name}`);
      keeping = flags[name];
    } else if (word === 'else') {
      if (keeping === undefined) throw new Error('WGSL variants: //#else without //#if');
      keeping = !keeping;
    } else {
      if (keeping === undefined) throw new Error('WGSL variants: //#endif without //#if');
      keeping = undefined;
    }
  }
  if (keeping !== undefined) throw new Error('WGSL variants: //#if without //#endif');
  return kept.join('\n');
}

/**
 * Shader variants, the one mechanism for WGSL that must differ by more than an override constant can say. WGSL has
 * no preprocessor, and neither a storage binding's element type (f32 or vec4<f32>) nor a private array's size can
 * depend on an override constant. So:
 * - selectVariant: shaders that have a faster form for aligned data hold both forms between comment lines
 *     //#if NAME … //#else … //#endif   (no nesting)
 *   and the host keeps one of them before compiling;
 * - specialize: shaders whose private arrays are sized by the problem (attention's per-thread query and
 *   accumulator, by the head dimension) declare those sizes as `const NAME: u32 = …u;` lines, which the host
 *   rewrites with the value.
 * Plain numbers that change no type or size are override constants, passed to computePipeline.
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

export function specialize(code: string, constants: Record<string, number>): string {
  let result = code;
  for (const [name, value] of Object.entries(constants)) {
    const pattern = new RegExp(`const ${name}: u32 = \\d+u;`);
    if (!pattern.test(result)) throw new Error(`shader has no "const ${name}: u32 = …u;" line to specialise`);
    result = result.replace(pattern, `const ${name}: u32 = ${value}u;`);
  }
  return result;
}

/**
 * WGSL sources joined into one module (a kernel after the helpers it calls, e.g. activations.wgsl), with every
 * `enable` directive moved to the top, where WGSL requires directives to be.
 */
export function joinShaders(...sources: string[]): string {
  const directives = new Set<string>();
  const bodies = sources.map((source) =>
    source
      .split('\n')
      .filter((line) => {
        const directive = /^\s*enable\s+[\w\s,]+;\s*$/.test(line);
        if (directive) directives.add(line.trim());
        return !directive;
      })
      .join('\n'),
  );
  return [...directives, ...bodies].join('\n');
}

// Node module hooks that give the CLI the same `?raw` imports of .wgsl files that Vite gives the browser.
import { readFile } from 'node:fs/promises';

export async function resolve(specifier, context, nextResolve) {
  if (!specifier.endsWith('?raw')) return nextResolve(specifier, context);
  const bare = specifier.slice(0, -'?raw'.length);
  const resolved = new URL(bare, context.parentURL);
  return { url: `${resolved.href}?raw`, shortCircuit: true };
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith('?raw')) return nextLoad(url, context);
  const text = await readFile(new URL(url.slice(0, -'?raw'.length)), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}

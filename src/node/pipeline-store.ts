/**
 * The CLI's remembered pipelines (core/gpu/pipeline-memory.ts): one JSON file, pipelines.json, in
 * $SPARSEGPT_CACHE_DIR, else $XDG_CACHE_HOME/sparsegpt, else ~/.cache/sparsegpt, mapping each adapter key to its
 * specs. Written whole to a temporary file and renamed, so that runs finishing together never leave half a file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { PipelineStore } from '../core/gpu/pipeline-memory';

export function cacheFolder(): string {
  const env = process.env;
  if (env.SPARSEGPT_CACHE_DIR) return env.SPARSEGPT_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sparsegpt');
}

async function readAll(file: string): Promise<Record<string, unknown>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

export function nodePipelineStore(folder = cacheFolder()): PipelineStore {
  const file = join(folder, 'pipelines.json');
  return {
    async load(key) {
      return (await readAll(file))[key];
    },
    async save(key, specs) {
      const all = await readAll(file);
      all[key] = specs;
      await mkdir(folder, { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, JSON.stringify(all));
      await rename(temporary, file);
    },
  };
}

/**
 * config.json against the tensors, through the real CLI: a config with fewer (or more) layers than the
 * checkpoint, another hidden size or another vocabulary is an error naming both numbers, and nothing is written.
 * (A config with fewer layers used to prune part of the model and exit 0.)
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, smallPruneArgs } from '../cli';
import { writeTinyModelFolder } from '../model-folder';

const scratch = mkdtempSync(join(tmpdir(), 'sparsegpt-config-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('prune checks config.json against the checkpoint', () => {
  it('names both numbers when layers, hidden size or vocabulary disagree', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [
        'fewer-layers',
        { num_hidden_layers: 2 },
        /num_hidden_layers = 2 but the checkpoint has tensors for 3 blocks/,
      ],
      [
        'more-layers',
        { num_hidden_layers: 4 },
        /num_hidden_layers = 4 but the checkpoint has tensors for 3 blocks/,
      ],
      [
        'hidden',
        { hidden_size: 32 },
        /hidden_size = 32 but model\.layers\.0\.input_layernorm\.weight has 24 values/,
      ],
      ['vocab', { vocab_size: 600 }, /vocab_size = 600 but model\.embed_tokens\.weight has 512 rows/],
    ];
    for (const [name, configEdits, message] of cases) {
      const model = await writeTinyModelFolder(join(scratch, name), { layers: 3, configEdits });
      const out = join(scratch, `${name}-out`);
      const result = await runCli(smallPruneArgs(model, out));
      expect(result.err, name).toMatch(message);
      expect(result.err, name).toMatch(/config\.json and the weights do not belong to the same model/);
      expect(result.code, name).toBe(2);
      expect(existsSync(out), name).toBe(false);
    }
    expect(readdirSync(scratch).filter((entry) => entry.startsWith('.'))).toEqual([]);
  }, 200_000);
});

import { describe, expect, it } from 'vitest';
import type { LayerResult, PruneEvent, RunResult } from '../core/pipeline/types';
import type { RunRecord } from './history';
import {
  applyEvent,
  finishedRun,
  progressFraction,
  restoredRun,
  sparsityOfAllLinears,
  startedRun,
  useRunStore,
} from './run';
import { APP_DEFAULT_SETTINGS } from './settings';

const layer = (block: number, name: string, relativeError: number): LayerResult => ({
  block,
  name,
  tensor: `model.layers.${block}.${name}.weight`,
  rows: 64,
  cols: 64,
  method: 'sparsegpt',
  sparsity: 0.5,
  relativeError,
  ms: 12,
  mask: { width: 2, height: 2, kept: new Uint8Array([255, 0, 128, 64]) },
});

describe('run view', () => {
  it('folds pipeline events into rows, progress, perplexities and the latest mask', () => {
    const events: PruneEvent[] = [
      { type: 'stage', stage: 'calibrating', message: 'Tokenizing the calibration text' },
      { type: 'calibration', nsamples: 32, seqlen: 128, textTokens: 40_000, notes: [] },
      { type: 'perplexity', which: 'dense', perplexity: 12.5, meanNll: 2.53, tokens: 4000 },
      { type: 'block', block: 0, blocks: 5 },
      { type: 'layer', layer: layer(0, 'self_attn.q_proj', 0.01) },
      { type: 'progress', done: 1, total: 35, etaSeconds: 20 },
      { type: 'layer', layer: layer(0, 'self_attn.k_proj', 0.02) },
      { type: 'warning', message: 'layer x needed more dampening' },
      { type: 'warning', message: 'layer x needed more dampening' },
      { type: 'progress', done: 2, total: 35 },
    ];
    const view = events.reduce(
      applyEvent,
      startedRun('r1', 'stories260K', APP_DEFAULT_SETTINGS, 'r1', 'x', 0),
    );
    expect(view.layers.map((l) => l.name)).toEqual(['self_attn.q_proj', 'self_attn.k_proj']);
    expect(view.layers.every((l) => l.mask === undefined)).toBe(true);
    expect(view.latestMask?.name).toBe('self_attn.k_proj');
    expect(view.latestMask?.mask.kept).toEqual(new Uint8Array([255, 0, 128, 64]));
    expect(view.progress).toEqual({ done: 2, total: 35, etaSeconds: undefined });
    expect(progressFraction(view)).toBeCloseTo(2 / 35, 12);
    expect(view.dense?.perplexity).toBe(12.5);
    expect(view.warnings).toEqual(['layer x needed more dampening']);
    expect(view.calibration?.textTokens).toBe(40_000);
    expect(view.block).toEqual({ block: 0, blocks: 5 });
    expect(view.stage).toBe('calibrating');
  });

  it('takes the final table and perplexities from the result', () => {
    const started = startedRun('r1', 'm', APP_DEFAULT_SETTINGS, 'r1', 'x', 0);
    const result: RunResult = {
      settings: APP_DEFAULT_SETTINGS,
      layers: [layer(0, 'a', 0.1), layer(1, 'b', 0.2)],
      dense: { perplexity: 10, meanNll: 2.3, tokens: 100, windows: 1, seqlen: 100 },
      pruned: { perplexity: 11, meanNll: 2.4, tokens: 100, windows: 1, seqlen: 100 },
      overallSparsity: 0.5,
      totalMs: 1000,
      outputFiles: ['model.safetensors'],
      notes: [],
    };
    const done = finishedRun(started, result, 5);
    expect(done.phase).toBe('done');
    expect(done.layers).toHaveLength(2);
    expect(done.layers[0].mask).toBeUndefined();
    expect(done.pruned?.perplexity).toBe(11);
    expect(progressFraction(done)).toBe(1);
  });

  it('ignores events of a run that is no longer the current one', () => {
    const store = useRunStore;
    store.getState().begin(startedRun('old', 'm', APP_DEFAULT_SETTINGS, 'old', 'x', 0));
    store.getState().cancelled();
    store.getState().begin(startedRun('new', 'm', APP_DEFAULT_SETTINGS, 'new', 'x', 0));
    store.getState().event('old', { type: 'layer', layer: layer(0, 'late', 0.1) });
    expect(store.getState().view.layers).toEqual([]);
    store.getState().event('new', { type: 'layer', layer: layer(0, 'fresh', 0.1) });
    expect(store.getState().view.layers.map((l) => l.name)).toEqual(['fresh']);
    store.getState().finish({
      settings: APP_DEFAULT_SETTINGS,
      layers: [],
      overallSparsity: 0,
      totalMs: 0,
      outputFiles: [],
      notes: [],
    });
    store.getState().event('new', { type: 'layer', layer: layer(0, 'after the end', 0.1) });
    expect(store.getState().view.layers).toEqual([]);
  });

  it('replaces the rows of layers a resumed run replays instead of repeating them', () => {
    const events: PruneEvent[] = [
      { type: 'layer', layer: layer(0, 'a', 0.1) },
      { type: 'layer', layer: layer(0, 'b', 0.2) },
      {
        type: 'warning',
        message: 'The GPU device was lost (destroyed); resuming from block 2 on a new device',
      },
      { type: 'layer', layer: layer(0, 'a', 0.1) },
      { type: 'layer', layer: layer(0, 'b', 0.2) },
      { type: 'layer', layer: layer(1, 'a', 0.3) },
    ];
    const view = events.reduce(applyEvent, startedRun('r', 'm', APP_DEFAULT_SETTINGS, 'r', 'x', 0));
    expect(view.layers.map((l) => l.tensor)).toEqual([
      'model.layers.0.a.weight',
      'model.layers.0.b.weight',
      'model.layers.1.a.weight',
    ]);
    expect(view.warnings).toHaveLength(1);
  });

  it('counts the whole model’s sparsity over all linears, dense ones included', () => {
    const dense = {
      ...layer(1, 'mlp.down_proj', 0),
      rows: 64,
      cols: 172,
      sparsity: 0.01,
      skipped: 'left dense',
    };
    const layers = [layer(0, 'a', 0.1), dense];
    // 0.5 of 64×64 pruned, 1% natural zeros in 64×172.
    expect(sparsityOfAllLinears(layers)).toBeCloseTo((0.5 * 4096 + 0.01 * 11008) / (4096 + 11008), 12);
    expect(sparsityOfAllLinears([])).toBe(0);
  });

  it('shows a finished run again from its history record after a reload', () => {
    const record: RunRecord = {
      id: 'run-9',
      createdAt: 1000,
      modelName: 'stories260K',
      settings: APP_DEFAULT_SETTINGS,
      layers: [layer(0, 'a', 0.1)],
      densePerplexity: 4.4,
      prunedPerplexity: 5.5,
      overallSparsity: 0.5,
      totalMs: 2500,
      notes: ['Scores the first 16 of 120 evaluation windows.'],
      outputFolder: 'run-9',
      outputFiles: ['model.safetensors'],
      downloadName: 'stories260K-sparsegpt-50pct',
      outputKept: true,
    };
    const view = restoredRun(record);
    expect(view).toMatchObject({ phase: 'done', restored: true, runId: 'run-9', finishedAt: 3500 });
    expect(view.pruned?.perplexity).toBe(5.5);
    expect(view.result?.notes).toEqual(record.notes);
    expect(progressFraction(view)).toBe(1);
    useRunStore.getState().begin(startedRun('live', 'm', APP_DEFAULT_SETTINGS, 'live', 'x', 0));
    useRunStore.getState().restore(view);
    expect(useRunStore.getState().view.runId).toBe('live');
  });
});

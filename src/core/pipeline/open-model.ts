/**
 * Opening a model folder for pruning: its config, architecture, tokenizer and checkpoint headers (never its
 * weights), checked against each other so that a run cannot fail halfway on a tensor that was never there.
 */
import { type EvaluationWindows, evaluationWindows } from '../eval/perplexity-windows';
import { type Architecture, describeArchitecture, storedShape } from '../forward/architecture';
import { GgufExportError, ggufArchitecture } from '../gguf/model-map';
import type { Checkpoint } from '../io/checkpoint';
import { openCheckpoint } from '../io/checkpoint';
import { ModelFileError } from '../io/errors';
import { modelFingerprint } from '../io/fingerprint';
import type { ModelFolder } from '../io/folder';
import { elementCount } from '../io/safetensors-header';
import { loadModelConfig } from '../model/config';
import { checkConfigMatchesCheckpoint } from '../model/consistency';
import { modelParticulars } from '../model/particulars';
import type { ModelConfig } from '../model/types';
import { loadTokenizer } from '../tokenizer/load-tokenizer';
import type { TextTokenizer } from '../tokenizer/text-tokenizer';
import { CalibrationError, type CalibrationSet, DEFAULT_SEED, drawCalibrationWindows } from './calibration';
import type { ModelSummary, PrunableLinear } from './types';

export interface OpenedModel {
  folder: ModelFolder;
  config: ModelConfig;
  arch: Architecture;
  checkpoint: Checkpoint;
  tokenizer: TextTokenizer;
  summary: ModelSummary;
}

const WEIGHT_DTYPES = new Set(['F32', 'F16', 'BF16']);

export async function openModel(folder: ModelFolder): Promise<{ summary: ModelSummary; model: OpenedModel }> {
  const config = await loadModelConfig(folder);
  const checkpoint = await openCheckpoint(folder);
  const arch = describeArchitecture(
    config,
    checkpoint.tensors.map((t) => t.name),
  );
  const tokenizer = await loadTokenizer(folder, config);
  checkConfigMatchesCheckpoint(arch, checkpoint);
  checkTensors(arch, checkpoint);
  const fingerprint = await modelFingerprint(folder, checkpoint);
  const summary = summarize(folder, config, arch, checkpoint, tokenizer, fingerprint);
  const model: OpenedModel = { folder, config, arch, checkpoint, tokenizer, summary };
  return { summary, model };
}

/** Every tensor the forward pass reads exists with the shape the config implies and a float dtype. */
function checkTensors(arch: Architecture, checkpoint: Checkpoint): void {
  const expected = new Map<string, number[]>();
  expected.set(arch.embedding.tensor, [arch.embedding.rows, arch.embedding.cols]);
  if (arch.positions) expected.set(arch.positions.tensor, [arch.positions.rows, arch.positions.cols]);
  if (!arch.lmHead.tied) expected.set(arch.lmHead.tensor, [arch.lmHead.rows, arch.lmHead.cols]);
  for (const linear of arch.prunableLinears()) expected.set(linear.tensor, storedShape(linear));
  for (const [name, shape] of expected) {
    if (!checkpoint.has(name)) {
      throw new ModelFileError(
        'tensor-not-found',
        `The checkpoint has no tensor "${name}", which a ${arch.config.modelType} model with this config.json ` +
          'needs. Is config.json from the same model as the safetensors files?',
        { tensor: name },
      );
    }
    const info = checkpoint.tensor(name);
    if (!WEIGHT_DTYPES.has(info.dtype)) {
      throw new ModelFileError(
        'unsupported-dtype',
        `Tensor "${name}" is stored as ${info.dtype}; weights must be F32, F16 or BF16 to be pruned ` +
          '(quantized checkpoints cannot be pruned: use the original model).',
        { tensor: name, file: info.file },
      );
    }
    // The exact shape, not only the element count: a [128, 32] tensor where [64, 64] belongs is foreign too.
    if (info.shape.length !== shape.length || info.shape.some((size, i) => size !== shape[i])) {
      throw new ModelFileError(
        'bad-shape',
        `Tensor "${name}" has shape [${info.shape.join(', ')}] but config.json implies ` +
          `[${shape.join(', ')}]: the config and the weights do not belong together.`,
        { tensor: name, file: info.file },
      );
    }
  }
}

function summarize(
  folder: ModelFolder,
  config: ModelConfig,
  arch: Architecture,
  checkpoint: Checkpoint,
  tokenizer: TextTokenizer,
  fingerprint: string,
): ModelSummary {
  const prunable: PrunableLinear[] = arch.prunableLinears().map((l) => ({
    block: l.block,
    name: l.name,
    tensor: l.tensor,
    rows: l.rows,
    cols: l.cols,
  }));
  const dtypes = [...new Set(checkpoint.tensors.map((t) => t.dtype))].sort();
  return {
    name: folder.name,
    modelType: config.modelType,
    family: config.family,
    layers: arch.numBlocks,
    hiddenSize: arch.hiddenSize,
    intermediateSize: arch.intermediateSize,
    heads: arch.heads,
    kvHeads: arch.kvHeads,
    vocabSize: arch.vocabSize,
    maxPositions: config.maxPositions,
    parameters: checkpoint.tensors.reduce((sum, t) => sum + elementCount(t.shape), 0),
    dtypes,
    sizeBytes: [...folder.files.values()].reduce((sum, f) => sum + f.size, 0),
    weightBytes: checkpoint.tensors.reduce((sum, t) => sum + t.byteEnd - t.byteStart, 0),
    ...ggufSupport(config),
    files: [...folder.files.keys()],
    shards: checkpoint.files.length,
    tokenizer: tokenizer.source,
    prunable,
    particulars: modelParticulars(config),
    experts: config.moe?.experts ?? 0,
    warnings: [...checkpoint.warnings],
    fingerprint,
  };
}

/** The GGUF map's refusal of the model's family, if it has one (OPT: llama.cpp has no such architecture). */
function ggufSupport(config: ModelConfig): { ggufUnsupported?: string } {
  try {
    ggufArchitecture(config);
    return {};
  } catch (error) {
    if (error instanceof GgufExportError) return { ggufUnsupported: error.message };
    throw error;
  }
}

export interface MeasuredCalibration extends CalibrationSet {
  textTokens: number;
}

export interface MeasuredEvaluation extends EvaluationWindows {
  textTokens: number;
}

/** Tokenizes an evaluation text once and cuts it into the perplexity protocol's non-overlapping windows. */
export function measureEvaluation(
  model: OpenedModel,
  text: string,
  request: { seqlen: number; maxWindows?: number },
): MeasuredEvaluation {
  const tokens = model.tokenizer.encode(text);
  return { ...evaluationWindows(tokens, request.seqlen, request.maxWindows), textTokens: tokens.length };
}

/** Tokenizes a calibration text and draws the seeded windows a run with these settings would use. */
export function measureCalibration(
  model: OpenedModel,
  text: string,
  request: { nsamples: number; seqlen: number; seed?: number },
): MeasuredCalibration {
  if (text.length > 0 && !text.trim()) {
    // A tokenizer turns spaces into tokens, so this would otherwise "calibrate" on whitespace alone.
    throw new CalibrationError(
      'The calibration text holds only spaces and line breaks. Paste or drop a real text (a few thousand words ' +
        'is typical).',
    );
  }
  const tokens = model.tokenizer.encode(text);
  const set = drawCalibrationWindows(
    tokens,
    { nsamples: request.nsamples, seqlen: request.seqlen, seed: request.seed ?? DEFAULT_SEED },
    model.config.maxPositions,
  );
  return { ...set, textTokens: tokens.length };
}

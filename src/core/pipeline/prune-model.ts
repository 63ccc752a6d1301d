/**
 * Whole-model SparseGPT, block by block as the paper's reference does: the calibration batch runs through block i
 * with its dense weights while the inputs of every linear are folded into one Hessian per input group; the block's
 * linears are pruned; the pruned block then runs again to produce block i+1's inputs. Only the order differs: q|k|v
 * need no more of the block than its input norm, so they are captured and solved (into copies) first, and a run
 * shows its first result before block 0's forward, with every result the same. Evaluation windows move
 * through the dense and the pruned model in the same pass, so one run reports both perplexities. Only one block's
 * weights, its Hessians and the activations are on the GPU at a time; pruned tensors stream to the writer as soon
 * as they exist.
 *
 * Longer than this project's ~400 lines for a reason: PruneRun is one run's state (finished layers, notes, the
 * explorer, device loss, progress) that every step of the run reads and adds to, kept in one class rather than
 * passed between files; the steps it runs (forward, solver, writer, progress store) each live elsewhere.
 */
import { EvaluationTextError, perplexityFromNll } from '../eval/perplexity-windows';
import { fromOutIn, type InputGroup, type LinearSpec, toOutIn } from '../forward/architecture';
import { BlockRunner } from '../forward/block-runner';
import { type BlockWeights, readOnce, type TensorSource, uploadBlock } from '../forward/block-weights';
import { maxSequencesPerChunk } from '../forward/chunk-fit';
import { uploadEmbedding } from '../forward/embedding';
import { uploadHead } from '../forward/head';
import { SequenceStates } from '../forward/sequence-states';
import type { SolvedTensor } from '../gguf/export';
import type { GpuContext } from '../gpu/context';
import { GpuOutOfMemoryError } from '../gpu/errors';
import type { SplitMatrix } from '../gpu/split-matrix';
import type { SinkFactory } from '../io/bytes';
import type { CheckpointWriter } from '../io/checkpoint-writer';
import type { GgmlType } from '../quant/ggml-types';
import type { HessianAccumulator } from '../sparsegpt/hessian';
import { type PreparedLayer, prepareLayer } from '../sparsegpt/prepare';
import { pruneLayerInPlace } from '../sparsegpt/prune';
import { LayerExplorer } from './explorer';
import { GroupHessians, hessianKey } from './group-hessians';
import { maskPreview, zeroFraction } from './mask-preview';
import { measureCalibration, measureEvaluation, type OpenedModel } from './open-model';
import { measureOwlAllocation } from './owl';
import { type LinearPlan, linearQuantTypes, patternMismatchWarning, planLinears } from './plan';
import { DamagedProgressError, type ProgressStore, type SavedBlock } from './progress-store';
import { DeviceLostError, outOfMemory } from './run-errors';
import { RunProgress } from './run-progress';
import { RunClock } from './run-timings';
import { openRunWriter } from './run-writer';
import { checkPruneSettings } from './settings-check';
import { SolvedCopies } from './solved-copies';
import {
  type BlockAllocation,
  CancelledError,
  type LayerResult,
  type PerplexityResult,
  type PruneEvent,
  type PruneSettings,
  type RunResult,
  type RunStage,
} from './types';

export { LayerExplorer } from './explorer';
export { DeviceLostError, OutOfMemoryError } from './run-errors';

export interface PruneTexts {
  calibration: string;
  evaluation?: string;
}

export interface PruneModelOptions {
  /** Where the pruned model goes; without it the run only measures (errors, perplexities). */
  output?: { sinkFor: SinkFactory };
  onEvent?: (event: PruneEvent) => void;
  signal?: AbortSignal;
  /** Keep each layer's prepared Hessian factor for the layer explorer (within explorerBudgetBytes). */
  keepForExplorer?: boolean;
  explorerBudgetBytes?: number;
  /** Sequences per block call (default: what the binding limit allows, at most 8). */
  sequencesPerChunk?: number;
  /** Saves each finished block and replays saved ones, so an interrupted run resumes where it stopped. */
  progress?: ProgressStore;
  /**
   * Each linear the solver pruned, by tensor name, as the checkpoint stores it, and when quantized the scale words
   * it chose (the GGUF writer stores the values under them). A block replayed from saved progress reports none.
   */
  onSolved?: (tensor: string, values: Float32Array, quantization?: SolvedTensor) => Promise<void> | void;
  /**
   * Score the dense model on the evaluation text too (default true). A sweep scores it once, not at every point:
   * the dense evaluation pass is then left out of the run.
   */
  scoreDense?: boolean;
}

/** What one block's pruning or replay works with: the block's index, the runner, the states it moves, the writer. */
interface BlockPass {
  block: number;
  runner: BlockRunner;
  calib: SequenceStates;
  dense?: SequenceStates;
  pruned?: SequenceStates;
  writer?: CheckpointWriter;
}

export interface PruneModelResult {
  result: RunResult;
  explorer?: LayerExplorer;
}

const DEFAULT_EXPLORER_BUDGET = 512 * 1024 * 1024;

export async function pruneModel(
  ctx: GpuContext,
  model: OpenedModel,
  settings: PruneSettings,
  texts: PruneTexts,
  options: PruneModelOptions = {},
): Promise<PruneModelResult> {
  ctx.memory.resetPeak();
  const run = new PruneRun(ctx, model, settings, options);
  try {
    return await run.execute(texts);
  } catch (error) {
    throw await run.explain(error);
  }
}

class PruneRun {
  private readonly started = performance.now();
  /** Time an interrupted run had taken before this one resumed it (from its last replayed block). */
  private carriedMs = 0;
  private readonly emit: (event: PruneEvent) => void;
  private readonly layers: LayerResult[] = [];
  private readonly notes: string[] = [];
  private plans: Map<string, LinearPlan>;
  private allocation?: BlockAllocation;
  private explorer?: LayerExplorer;
  private completedBlocks = 0;
  private firstSaved?: Promise<SavedBlock | undefined>;
  private lost?: GPUDeviceLostInfo;
  private explorerBytes = 0;
  private progress!: RunProgress;
  private readonly clock: RunClock;
  /** The ggml type of each linear to quantize, by llama.cpp's recipe for the settings' quantization. */
  private readonly quantTypes: Map<string, GgmlType>;

  constructor(
    private readonly ctx: GpuContext,
    private readonly model: OpenedModel,
    private readonly settings: PruneSettings,
    private readonly options: PruneModelOptions,
  ) {
    this.emit = options.onEvent ?? (() => undefined);
    this.clock = new RunClock(ctx);
    ctx.lost.then((info) => {
      this.lost = info;
    });
    checkPruneSettings(settings, model.arch);
    this.plans = planLinears(model.arch.prunableLinears(), settings);
    this.quantTypes = linearQuantTypes(model.arch, settings.quantization);
  }

  async execute(texts: PruneTexts): Promise<PruneModelResult> {
    const { ctx, model, settings } = this;
    const { arch } = model;
    this.stage('tokenizing', 'Tokenizing the calibration text');
    const calibration = await this.clock.time('tokenizing', () =>
      measureCalibration(model, texts.calibration, settings),
    );
    this.notes.push(...calibration.notes);
    this.emit({ type: 'calibration', ...calibration, notes: calibration.notes });
    if (texts.evaluation !== undefined && texts.evaluation !== '' && !texts.evaluation.trim()) {
      throw new EvaluationTextError(
        'The evaluation text holds only spaces and line breaks: paste or drop a real text, or leave it empty.',
      );
    }
    const evaluation = texts.evaluation
      ? await this.clock.time('tokenizing', () =>
          measureEvaluation(model, texts.evaluation as string, {
            seqlen: settings.seqlen,
            maxWindows: settings.evalMaxWindows,
          }),
        )
      : undefined;
    for (const note of evaluation?.notes ?? []) this.warn(note);
    const mismatch = patternMismatchWarning(this.model.arch.prunableLinears(), this.settings);
    if (mismatch) this.emit({ type: 'warning', message: mismatch });
    const scoreDense = evaluation !== undefined && this.options.scoreDense !== false;
    const owl = settings.allocation === 'owl';
    const passes = 2 + (evaluation ? 1 : 0) + (scoreDense ? 1 : 0) + (owl ? 1 : 0);
    this.progress = new RunProgress(arch.numBlocks, arch.block(0).linears.length + passes, this.emit);
    const seqLen = Math.max(calibration.seqlen, evaluation?.seqlen ?? 0);
    const perChunk = await this.chunking(seqLen);
    if (owl) await this.allocate(calibration, perChunk);

    const writer = await this.openWriter(calibration.nsamples, calibration.seqlen);
    if (this.options.keepForExplorer) this.explorer = new LayerExplorer(ctx, settings.blockSize);
    const states: SequenceStates[] = [];
    let runner: BlockRunner | undefined;
    try {
      this.stage('calibrating', 'Embedding the calibration samples');
      const embedding = await this.clock.time('uploads', () => uploadEmbedding(ctx, arch, this.read));
      let calib: SequenceStates;
      let dense: SequenceStates | undefined;
      let pruned: SequenceStates | undefined;
      try {
        const embedInto = async (ids: Int32Array, length: number, label: string) => {
          const s = await this.clock.time('embedding', () =>
            SequenceStates.embed(ctx, arch, embedding, ids, length, perChunk, label),
          );
          states.push(s);
          return s;
        };
        calib = await embedInto(calibration.ids, calibration.seqlen, 'calibration');
        if (evaluation) {
          if (scoreDense) dense = await embedInto(evaluation.ids, evaluation.seqlen, 'dense evaluation');
          pruned = await embedInto(evaluation.ids, evaluation.seqlen, 'pruned evaluation');
        }
      } finally {
        embedding.destroy();
      }
      runner = new BlockRunner(ctx, arch, { sequences: perChunk, seqLen });
      this.stage('pruning', `Pruning ${arch.numBlocks} blocks`);
      for (let block = 0; block < arch.numBlocks; block++) {
        this.checkCancelled();
        this.emit({ type: 'block', block, blocks: arch.numBlocks });
        const saved = await this.savedBlock(block);
        const pass: BlockPass = { block, runner, calib, dense, pruned, writer };
        if (saved) await this.replayBlock(pass, saved);
        else await this.pruneBlock(pass);
        this.completedBlocks = block + 1;
      }
      const result = await this.finish(dense, pruned, evaluation?.windows ?? 0, writer);
      return { result, explorer: this.explorer };
    } catch (error) {
      await writer?.abort(error).catch(() => undefined);
      this.explorer?.destroy();
      throw error;
    } finally {
      runner?.destroy();
      for (const s of states) s.destroy();
    }
  }

  /** OWL: a dense pass over the calibration samples gives each block's sparsity, and the linears are planned anew. */
  private async allocate(calibration: { ids: Int32Array; seqlen: number }, perChunk: number): Promise<void> {
    this.stage('calibrating', "Measuring each block's outliers for the OWL allocation");
    this.allocation = await measureOwlAllocation(this.ctx, this.model, calibration, this.settings, {
      sequencesPerChunk: perChunk,
      signal: this.options.signal,
      onBlock: () => this.progress.step(),
    });
    this.plans = planLinears(this.model.arch.prunableLinears(), this.settings, this.allocation.blockSparsity);
    this.emit({ type: 'allocation', allocation: this.allocation });
  }

  /** A block an earlier run finished; block 0 is asked for twice (chunking, then replay) and read once. */
  private savedBlock(block: number): Promise<SavedBlock | undefined> {
    if (block !== 0) return this.loadSaved(block);
    this.firstSaved ??= this.loadSaved(0);
    return this.firstSaved;
  }

  /** A damaged saved block is said and pruned again, never used. */
  private async loadSaved(block: number): Promise<SavedBlock | undefined> {
    try {
      return await this.options.progress?.load(block);
    } catch (error) {
      if (!(error instanceof DamagedProgressError)) throw error;
      this.warn(error.message);
      return undefined;
    }
  }

  /** Sequences per block call: as asked, or as the run being resumed used, or what the binding limit allows. */
  private async chunking(seqLen: number): Promise<number> {
    const fit = Math.max(1, maxSequencesPerChunk(this.ctx, this.model.arch, seqLen));
    const resumed = (await this.savedBlock(0))?.sequencesPerChunk;
    if (resumed !== undefined && this.options.sequencesPerChunk === undefined) {
      if (resumed <= fit) return resumed;
      this.warn(
        `This GPU holds fewer calibration sequences at a time than the one the run started on (${fit} instead ` +
          `of ${resumed}); the blocks still to prune may differ from an uninterrupted run in the last digits.`,
      );
    }
    return Math.max(1, this.options.sequencesPerChunk ?? Math.min(8, fit));
  }

  /**
   * The paper's order for one block, with its q|k|v first: their input is the block input's norm, so one cheap pass
   * over the calibration chunks gives their Hessian and they are solved (into copies) before the block's dense
   * forward runs; that forward still uses the dense q|k|v, so every Hessian and result is the same as with the
   * whole capture first, and the run's first result comes a block's forward sooner.
   */
  private async pruneBlock(pass: BlockPass): Promise<void> {
    const { ctx, model } = this;
    const { block, runner, calib } = pass;
    // Each tensor of the block is read once: the upload and the solver share it.
    const source = readOnce(this.read);
    const weights = await this.clock.time('uploads', () => uploadBlock(ctx, model.arch, block, source));
    const hessians = new GroupHessians(ctx, (work) => this.clock.time('hessians', work));
    const saved: SavedBlock = { layers: [], tensors: new Map(), sequencesPerChunk: calib.sequencesPerChunk };
    const firstLayer = this.layers.length;
    const attention = weights.groups.attention.group;
    const solvedFirst = new SolvedCopies(ctx, weights);
    const first = hessianKey(attention);
    try {
      await this.clock.time('calibrationForward', () =>
        calib.captureAttentionInput(
          runner,
          weights,
          hessians.capture((key) => key === first),
        ),
      );
      await this.solveGroup(pass, weights, attention, hessians, source, saved, (linear) =>
        solvedFirst.target(linear),
      );
      await this.runThrough(pass.dense, runner, weights, 'evaluation');
      await this.clock.time('calibrationForward', () =>
        calib.capture(
          runner,
          weights,
          hessians.capture((key) => key !== first),
          this.settings.expertCalibration,
        ),
      );
      this.progress.step();
      solvedFirst.install();
      for (const group of weights.spec.groups) {
        if (group === attention) continue;
        await this.solveGroup(pass, weights, group, hessians, source, saved, (linear) =>
          weights.linear(linear.name),
        );
      }
      await this.advance(pass, weights);
      saved.layers = this.layers.slice(firstLayer);
      saved.elapsedMs = this.elapsedMs();
      await this.clock.time('saving', () => this.options.progress?.save(block, saved));
    } finally {
      hessians.destroy();
      solvedFirst.destroy();
      weights.destroy();
    }
  }

  /** One group of a block: pruned with its Hessian (then freed), or left dense where no expert token reached it. */
  private async solveGroup(
    pass: BlockPass,
    weights: BlockWeights,
    group: InputGroup,
    hessians: GroupHessians,
    source: TensorSource,
    saved: SavedBlock,
    target: (linear: LinearSpec) => SplitMatrix,
  ): Promise<void> {
    const { block, writer } = pass;
    this.checkCancelled();
    const H = hessians.get(group);
    if (!H && group.expert !== undefined) {
      await this.leaveExpertDense(block, group, weights.spec.groups, source, writer);
      return;
    }
    if (!H) throw new Error(`block ${block}: the forward pass captured no input for ${group.role}`);
    await this.pruneGroup(block, group, H, source, target, saved, writer);
    hessians.release(group);
  }

  /**
   * A mixture-of-experts group whose expert no calibration token was routed to: it has no Hessian, so its linears
   * stay dense (copied unchanged), with one warning per expert naming them, as the float64 reference words it.
   */
  private async leaveExpertDense(
    block: number,
    group: InputGroup,
    groups: InputGroup[],
    source: TensorSource,
    writer: CheckpointWriter | undefined,
  ): Promise<void> {
    const own = groups.filter((g) => g.expert === group.expert);
    if (own[0] === group) {
      const linears = own.flatMap((g) => g.linears.map((l) => l.tensor));
      this.warn(
        `block ${block}, expert ${group.expert}: no calibration token was routed to it, so ` +
          `${linears.join(', ')} stay dense`,
      );
    }
    for (const linear of group.linears) {
      const planned = this.plans.get(linear.tensor);
      if (planned?.prune) await writer?.writeTensor(linear.tensor);
      this.layerDone({
        block,
        name: linear.name,
        tensor: linear.tensor,
        rows: linear.rows,
        cols: linear.cols,
        method: this.settings.method,
        sparsity: zeroFraction(await source(linear.tensor)),
        relativeError: 0,
        ms: 0,
        skipped: planned?.prune
          ? 'no calibration token was routed to this expert'
          : (planned?.reason ?? 'left dense'),
      });
    }
  }

  /** The calibration and pruned-evaluation states move through the block with its pruned weights. */
  private async advance(pass: BlockPass, weights: BlockWeights): Promise<void> {
    await this.runThrough(pass.calib, pass.runner, weights, 'rerun');
    await this.runThrough(pass.pruned, pass.runner, weights, 'evaluation');
  }

  /** Moves `states` (where there are any) through the block: one step of the run's progress. */
  private async runThrough(
    states: SequenceStates | undefined,
    runner: BlockRunner,
    weights: BlockWeights,
    stage: 'rerun' | 'evaluation',
  ): Promise<void> {
    if (!states) return;
    await this.clock.time(stage, () => states.run(runner, weights));
    this.progress.step();
  }

  /** A checkpoint tensor as f32 (dtype conversion included), timed as the run's reading. */
  private readonly read: TensorSource = (name) =>
    this.clock.time('reading', () => this.model.checkpoint.readFloat32(name));

  /** A block finished by an earlier, interrupted run: its saved pruned weights stand in for pruning it again. */
  private async replayBlock(pass: BlockPass, saved: SavedBlock): Promise<void> {
    const { ctx, model } = this;
    const { block, writer } = pass;
    this.carriedMs = saved.elapsedMs ?? this.carriedMs;
    const weights = await this.clock.time('uploads', () => uploadBlock(ctx, model.arch, block, this.read));
    try {
      const specs = new Map(weights.spec.linears.map((l) => [l.tensor, l]));
      const solved: Array<[string, Float32Array]> = [];
      for (const layer of saved.layers) {
        const linear = specs.get(layer.tensor);
        const stored = saved.tensors.get(layer.tensor);
        if (!linear)
          throw new Error(`saved progress names ${layer.tensor}, which block ${block} does not have`);
        if (stored && !layer.skipped) {
          const W = await this.clock.time('conversion', () => toOutIn(linear, stored));
          solved.push([linear.name, W]);
          await this.clock.time('writing', () => writer?.writeTensor(linear.tensor, stored));
          layer.mask = await this.clock.time('conversion', () => maskPreview(W, linear.rows, linear.cols));
        } else if (this.plans.get(layer.tensor)?.prune) {
          // Planned but left dense (an expert no calibration token reached): copied unchanged.
          await this.clock.time('writing', () => writer?.writeTensor(layer.tensor));
        }
        this.layerDone(layer);
      }
      // The saved results are shown at once; the dense evaluation windows still pass the block before the saved
      // pruned weights take the dense ones' place.
      await this.runThrough(pass.dense, pass.runner, weights, 'evaluation');
      this.progress.step();
      for (const [name, W] of solved) await this.clock.time('uploads', () => weights.replaceLinear(name, W));
      await this.advance(pass, weights);
    } finally {
      weights.destroy();
    }
  }

  /**
   * Prunes a group's linears with its Hessian where `target` holds them on the GPU (the block's weights, so that
   * the block's re-run uses them as they are, or copies of them that go there later); each pruned linear is read
   * back once, for the writer, the saved block and the layer's mask preview (transposed only where the checkpoint
   * stores it so, GPT-2's Conv1D).
   */
  private async pruneGroup(
    block: number,
    group: InputGroup,
    H: HessianAccumulator,
    source: TensorSource,
    target: (linear: LinearSpec) => SplitMatrix,
    saved: SavedBlock,
    writer: CheckpointWriter | undefined,
  ): Promise<void> {
    const { ctx, settings } = this;
    const toPrune = group.linears.filter((l) => this.plans.get(l.tensor)?.prune);
    let prepared: PreparedLayer | undefined;
    let prepareMs = 0;
    if (toPrune.length) {
      // The calibration pass is still queued: let it finish so its time is not counted as this layer's.
      await ctx.device.queue.onSubmittedWorkDone();
      prepared = await this.clock.time('prepare', () =>
        prepareLayer(ctx, H, group.features, { percdamp: settings.percdamp }),
      );
      prepareMs = prepared.timings.total ?? 0;
      if (prepared.retries > 0) {
        this.warn(
          `Block ${block} ${group.role}: the Hessian was not positive definite; dampening was raised to ` +
            `${prepared.percdamp} of its mean diagonal (${prepared.retries} retr${prepared.retries === 1 ? 'y' : 'ies'}).`,
        );
      }
    }
    let kept = false;
    try {
      for (const linear of group.linears) {
        this.checkCancelled();
        const plan = this.plans.get(linear.tensor);
        // The dense weight as the checkpoint stores it, from the block's read cache (the upload read it).
        const stored = await source(linear.tensor);
        const base = {
          block,
          name: linear.name,
          tensor: linear.tensor,
          rows: linear.rows,
          cols: linear.cols,
        };
        if (!plan?.prune || !prepared) {
          this.layerDone({
            ...base,
            method: settings.method,
            sparsity: zeroFraction(stored),
            relativeError: 0,
            ms: 0,
            skipped: plan?.reason ?? 'left dense',
          });
          continue;
        }
        const onGpu = target(linear);
        const layerPrepared = prepared;
        const quantType = this.quantTypes.get(linear.tensor);
        const result = await this.clock.time('solverOther', () =>
          pruneLayerInPlace(ctx, onGpu, layerPrepared, {
            method: settings.method,
            sparsity: plan.target ?? settings.sparsity,
            pattern: settings.pattern,
            blockSize: settings.blockSize,
            quantization: quantType ? { type: quantType, method: settings.quantMethod } : undefined,
          }),
        );
        this.reassignSolverSteps(result.timings);
        const W = await this.clock.time('readback', () => onGpu.read());
        const pruned = await this.clock.time('conversion', () => fromOutIn(linear, W));
        saved.tensors.set(linear.tensor, pruned);
        await this.clock.time('writing', () => writer?.writeTensor(linear.tensor, pruned));
        await this.options.onSolved?.(linear.tensor, pruned, result.quantization);
        kept =
          (await this.clock.time('conversion', () =>
            this.keepForExplorer(base, linear, stored, layerPrepared),
          )) || kept;
        this.layerDone({
          ...base,
          method: settings.method,
          target: plan.target,
          sparsity: result.sparsity,
          relativeError: result.relativeError,
          ms: (result.timings.total ?? 0) + prepareMs / toPrune.length,
          damping: prepared.percdamp,
          mask: await this.clock.time('conversion', () => maskPreview(W, linear.rows, linear.cols)),
          ...(quantType ? { quantization: quantType } : {}),
        });
      }
    } finally {
      if (prepared && !kept) prepared.destroy();
    }
  }

  /** The solver's GPU step timings move its wall time to the stages they name; the rest stays solverOther. */
  private reassignSolverSteps(steps: Record<string, number>): void {
    this.clock.reassign('solverOther', {
      select: steps.select,
      walk: (steps.walk ?? 0) + (steps.deadColumns ?? 0) + (steps.mask ?? 0),
      lazyUpdate: steps.lazyUpdate,
      errorMetric: (steps.error ?? 0) + (steps.stats ?? 0),
    });
  }

  /** Keeps the dense W (from the checkpoint, [rows = out, cols = in]) and the group's factor for the explorer. */
  private keepForExplorer(
    layer: { block: number; name: string; tensor: string; rows: number; cols: number },
    linear: LinearSpec,
    stored: Float32Array,
    prepared: PreparedLayer,
  ): boolean {
    if (!this.explorer) return false;
    const factorBytes = 2 * prepared.columns * prepared.columns * 4;
    const bytes = stored.byteLength + factorBytes;
    const budget = this.options.explorerBudgetBytes ?? DEFAULT_EXPLORER_BUDGET;
    if (this.explorerBytes + bytes > budget) return false;
    this.explorerBytes += bytes;
    // A copy (or the transposed one), so the block's read cache can go; the factor is shared by the group.
    this.explorer.keep(layer, linear.transposed ? toOutIn(linear, stored) : stored.slice(), prepared);
    return true;
  }

  private async finish(
    dense: SequenceStates | undefined,
    pruned: SequenceStates | undefined,
    windows: number,
    writer: CheckpointWriter | undefined,
  ): Promise<RunResult> {
    const { ctx, model, settings } = this;
    let densePerplexity: PerplexityResult | undefined;
    let prunedPerplexity: PerplexityResult | undefined;
    if (pruned) {
      this.checkCancelled();
      this.stage('evaluating', 'Scoring the evaluation text');
      const head = await this.clock.time('uploads', () => uploadHead(ctx, model.arch, this.read));
      try {
        if (dense) densePerplexity = await this.perplexity('dense', dense, head, windows);
        prunedPerplexity = await this.perplexity('pruned', pruned, head, windows);
      } finally {
        head.destroy();
      }
    }
    this.checkCancelled();
    let outputFiles: string[] = [];
    if (writer) {
      this.stage('writing', 'Writing the pruned model');
      const written = await this.clock.time('writing', () => writer.finish());
      outputFiles = written.files.map((f) => f.path);
    }
    this.progress.finish();
    const prunedLayers = this.layers.filter((l) => !l.skipped);
    const weights = prunedLayers.reduce((sum, l) => sum + l.rows * l.cols, 0);
    const zeros = prunedLayers.reduce((sum, l) => sum + l.sparsity * l.rows * l.cols, 0);
    return {
      settings,
      layers: this.layers,
      dense: densePerplexity,
      pruned: prunedPerplexity,
      overallSparsity: weights ? zeros / weights : 0,
      allocation: this.allocation,
      totalMs: this.elapsedMs(),
      outputFiles,
      notes: this.notes,
      peakGpuBytes: ctx.memory.peak,
      timings: this.clock.result(),
    };
  }

  private async perplexity(
    which: 'dense' | 'pruned',
    states: SequenceStates,
    head: Parameters<SequenceStates['nll']>[0],
    windows: number,
  ): Promise<PerplexityResult> {
    const { nll, targets } = await this.clock.time('evaluation', () => states.nll(head));
    const { meanNll, perplexity } = perplexityFromNll(nll, targets);
    const tokens = targets.reduce((count, t) => count + (t >= 0 ? 1 : 0), 0);
    this.emit({ type: 'perplexity', which, perplexity, meanNll, tokens });
    return { perplexity, meanNll, tokens, windows, seqlen: states.seqLen };
  }

  private async openWriter(nsamples: number, seqlen: number): Promise<CheckpointWriter | undefined> {
    const { output } = this.options;
    if (!output) return undefined;
    return openRunWriter(this.model.checkpoint, output.sinkFor, this.settings, {
      plans: this.plans,
      allocation: this.allocation,
      nsamples,
      seqlen,
    });
  }

  /** The run's time so far: this session's, plus what an interrupted run it resumed had taken. */
  private elapsedMs(): number {
    return this.carriedMs + performance.now() - this.started;
  }

  private layerDone(layer: LayerResult): void {
    this.clock.resultReady();
    this.layers.push(layer);
    this.emit({ type: 'layer', layer });
    this.progress.step();
  }

  private warn(message: string): void {
    this.notes.push(message);
    this.emit({ type: 'warning', message });
  }

  private stage(stage: RunStage, message: string): void {
    this.emit({ type: 'stage', stage, message });
  }

  /** GPU failures become errors that say what happened to the run and what to do. */
  async explain(error: unknown): Promise<unknown> {
    // Give a pending loss notification the chance to arrive before deciding what failed.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (this.lost) return new DeviceLostError(this.lost.message, this.completedBlocks);
    if (error instanceof GpuOutOfMemoryError) return outOfMemory(error, this.settings, this.completedBlocks);
    return error;
  }

  private checkCancelled(): void {
    if (this.options.signal?.aborted) throw new CancelledError();
  }
}

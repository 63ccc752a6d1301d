/**
 * A sweep: methods × sparsities (and N:M patterns), each point a full sequential run through the same pipeline,
 * measured by its perplexity. Pure: the app and the CLI plan the same points, check them with the core's one
 * validator, and describe the finished ones the same way (report.ts exports them).
 */
import { sparsityOfAllLinears } from '../pipeline/sparsity-stats';
import type { RunResult } from '../pipeline/types';
import {
  PRUNE_METHODS,
  type PruneMethod,
  type PruneSettings,
  patternLabel,
  type SparsityPattern,
} from '../settings/prune-settings';
import { settingsProblems } from '../settings/validate';

export interface SweepRequest {
  methods: PruneMethod[];
  /** Unstructured sparsities, fractions of zeros. */
  sparsities: number[];
  /** N:M patterns, each a point per method at N/M. */
  patterns: Array<{ n: number; m: number }>;
}

export interface SweepPoint {
  method: PruneMethod;
  pattern: SparsityPattern;
  /** The fraction of zeros asked for: the sparsity, or N/M. */
  sparsity: number;
  /** "50%" or "2:4". */
  label: string;
}

/** A finished point: what the run measured. */
export interface SweepResult {
  point: SweepPoint;
  /** Zeros over the weights of the pruned linears. */
  sparsityOfPrunedLayers: number;
  /** Zeros over all prunable weights (linears left dense count as dense). */
  sparsityOfAllLinears: number;
  prunedPerplexity: number;
  /** Where the run scored the dense model too (a sweep scores it once, at its first point). */
  densePerplexity?: number;
  seconds: number;
  /** The run's id in the app's history. */
  runId?: string;
}

/**
 * The points in the order they run: each sparsity (ascending) for every method, then each pattern for every
 * method, so that a sweep stopped early still compares the methods at the sparsities it reached.
 */
export function sweepPoints({ methods, sparsities, patterns }: SweepRequest): SweepPoint[] {
  const ordered = [...new Set(methods)];
  const settings: Array<{ pattern: SparsityPattern; sparsity: number }> = [
    ...[...new Set(sparsities)]
      .sort((a, b) => a - b)
      .map((sparsity) => ({ pattern: 'unstructured' as const, sparsity })),
    ...uniquePatterns(patterns).map((pattern) => ({ pattern, sparsity: pattern.n / pattern.m })),
  ];
  return settings.flatMap(({ pattern, sparsity }) =>
    ordered.map((method) => ({ method, pattern, sparsity, label: patternLabel(pattern, sparsity) })),
  );
}

function uniquePatterns(patterns: SweepRequest['patterns']): Array<{ n: number; m: number }> {
  const seen = new Set<string>();
  return patterns.filter((p) => {
    const key = `${p.n}:${p.m}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A point's settings: the base (calibration, evaluation, …) with the point's method, pattern and sparsity. */
export function pointSettings(base: PruneSettings, point: SweepPoint): PruneSettings {
  return {
    ...base,
    method: point.method,
    pattern: point.pattern,
    sparsity: point.pattern === 'unstructured' ? point.sparsity : base.sparsity,
  };
}

/** The settings that differ from point to point, and those that must suit every point's pattern. */
const POINT_FIELDS = ['sparsity', 'pattern', 'layerTargets', 'allocation'] as const;

/**
 * What is wrong with a sweep, in words: no method, no point, or a point the validator refuses (each problem said
 * once, with the point it is about). The settings the points share are the caller's to check.
 */
export function sweepProblems(request: SweepRequest, base: PruneSettings): string[] {
  const problems: string[] = [];
  if (request.methods.length === 0) problems.push('Pick at least one method to sweep.');
  if (request.sparsities.length === 0 && request.patterns.length === 0) {
    problems.push('Give at least one sparsity or N:M pattern to sweep.');
  }
  const seen = new Set<string>();
  for (const point of sweepPoints({ ...request, methods: [...PRUNE_METHODS] })) {
    for (const { message } of settingsProblems(pointSettings(base, point), {}, POINT_FIELDS)) {
      const line = `${point.label}: ${message}`;
      if (!seen.has(line)) problems.push(line);
      seen.add(line);
    }
  }
  return problems;
}

/** A finished run as a point of the sweep. */
export function sweepResult(point: SweepPoint, result: RunResult, runId?: string): SweepResult {
  if (!result.pruned) throw new Error('a sweep point needs an evaluation text: the run scored no perplexity');
  return {
    point,
    sparsityOfPrunedLayers: result.overallSparsity,
    sparsityOfAllLinears: sparsityOfAllLinears(result.layers),
    prunedPerplexity: result.pruned.perplexity,
    densePerplexity: result.dense?.perplexity,
    seconds: result.totalMs / 1000,
    ...(runId && { runId }),
  };
}

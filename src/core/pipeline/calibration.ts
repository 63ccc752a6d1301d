/**
 * Calibration windows, as the paper draws them from C4: `nsamples` random windows of `seqlen` consecutive tokens,
 * here from the user's own text. The text is tokenized once (by the caller); windows are drawn with a seeded RNG so
 * a run is reproducible.
 */
import { DEFAULT_SETTINGS } from '../settings/prune-settings';
import { settingsProblems } from '../settings/validate';
import { seededRandom } from './random';

export interface CalibrationRequest {
  nsamples: number;
  seqlen: number;
  seed?: number;
}

export interface CalibrationSet {
  /** Token ids, row-major [nsamples, seqlen]. */
  ids: Int32Array;
  nsamples: number;
  seqlen: number;
  /** Plain-language notes when the request could not be met as asked (shown in the UI and CLI). */
  notes: string[];
}

export class CalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalibrationError';
  }
}

export const DEFAULT_SEED = 0;

/** What the model and memory allow by default: 128 samples × min(512, max positions), as the paper's 128 × 2048. */
export function defaultCalibration(maxPositions: number): CalibrationRequest {
  return { nsamples: 128, seqlen: Math.min(512, maxPositions), seed: DEFAULT_SEED };
}

/** The settings' own check of the sample count and length (the limits are the settings module's). */
export function validateCalibrationRequest(request: CalibrationRequest, maxPositions: number): void {
  const settings = { ...DEFAULT_SETTINGS, nsamples: request.nsamples, seqlen: request.seqlen };
  const problems = settingsProblems(settings, { maxPositions }, ['nsamples', 'seqlen']);
  if (problems.length) throw new CalibrationError(problems.map((p) => p.message).join('\n'));
}

export function drawCalibrationWindows(
  tokens: ArrayLike<number>,
  request: CalibrationRequest,
  maxPositions: number,
): CalibrationSet {
  validateCalibrationRequest(request, maxPositions);
  const total = tokens.length;
  if (total < 2) {
    throw new CalibrationError(
      `The calibration text is empty or too short: it has ${total} token${total === 1 ? '' : 's'}, ` +
        `and at least 2 are needed. Paste or drop a longer text (a few thousand words is typical).`,
    );
  }
  const notes: string[] = [];
  let { nsamples, seqlen } = request;
  if (total < seqlen) {
    notes.push(
      `The calibration text has only ${total} tokens, fewer than one sample of ${seqlen}; ` +
        `used 1 sample of ${total} tokens instead. A longer text gives a better pruned model.`,
    );
    nsamples = 1;
    seqlen = total;
  } else if (nsamples * seqlen > total) {
    const distinct = Math.floor(total / seqlen);
    notes.push(
      `The calibration text has ${total} tokens, enough for ${distinct} non-overlapping sample` +
        `${distinct === 1 ? '' : 's'} of ${seqlen}; the ${nsamples} samples drawn overlap. ` +
        `A longer text gives a better pruned model.`,
    );
  }
  const random = seededRandom(request.seed ?? DEFAULT_SEED);
  const ids = new Int32Array(nsamples * seqlen);
  const starts = total - seqlen + 1;
  for (let s = 0; s < nsamples; s++) {
    const start = Math.floor(random() * starts);
    for (let t = 0; t < seqlen; t++) ids[s * seqlen + t] = tokens[start + t];
  }
  return { ids, nsamples, seqlen, notes };
}

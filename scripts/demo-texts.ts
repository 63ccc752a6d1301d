/**
 * The texts the README's tables measure the demo with: calibration from the first 140 KB of the shared
 * stories260K samples, evaluation the demo's evaluation.txt (the samples' last 33 KB), so the two never overlap.
 */
import { readFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
export const DEMO_MODEL_DIR = new URL('public/demo/stories260K/', root);
const samples = readFileSync(new URL('../shared/data/stories260K-samples/samples.txt', root));
const CALIBRATION_BYTES = 140_264;
export const DEMO_CALIBRATION_TEXT = new TextDecoder().decode(samples.subarray(0, CALIBRATION_BYTES));
export const DEMO_EVALUATION_TEXT = readFileSync(new URL('evaluation.txt', DEMO_MODEL_DIR), 'utf8');

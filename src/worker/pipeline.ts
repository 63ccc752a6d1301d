/**
 * The pipeline functions the worker calls, in one place: the worker and its session import them from here, so a
 * change in the core's signatures is absorbed in this file.
 */
export {
  measureCalibration,
  measureEvaluation,
  type OpenedModel,
  openModel,
} from '../core/pipeline/open-model';
export { progressIdentity } from '../core/pipeline/progress-store';
export { DeviceLostError, type LayerExplorer, pruneModel } from '../core/pipeline/prune-model';
export { verifyPrunedOutput } from '../core/pipeline/verify-output';

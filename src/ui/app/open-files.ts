/**
 * Files dropped anywhere on the page or picked in the model card go to the one place that fits: text files become
 * the calibration text, a folder picked again for a resume goes to the resume, anything else opens as a model.
 */

import { useResumeStore } from '../../store/unfinished';
import { openModelFiles } from '../features/model/actions';
import { type CollectedFiles, type HowGiven, isTextOnly } from '../features/model/drop';
import { resumeWithFiles } from '../features/resume/actions';
import { applyTextFile } from '../features/texts/actions';

export async function openCollected(collected: CollectedFiles, how: HowGiven): Promise<void> {
  if (isTextOnly(collected)) {
    await applyTextFile(collected.files[0], 'calibration');
    return;
  }
  if (useResumeStore.getState().status === 'needs-files') {
    await resumeWithFiles(collected);
    return;
  }
  await openModelFiles(collected, how);
}

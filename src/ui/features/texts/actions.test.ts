import { beforeEach, describe, expect, it } from 'vitest';
import { useTextsStore } from '../../../store/texts';
import { pruneBlocker } from '../run/blocker';
import { applyTextFile, keepCurrentText } from './actions';

const READY = { kind: 'ready' } as Parameters<typeof pruneBlocker>[0]['model'];

function blocker(): string | undefined {
  const { calibration, fileError } = useTextsStore.getState();
  return pruneBlocker({
    model: READY,
    calibration: calibration.text,
    fileError,
    settingsProblems: [],
    phase: 'idle',
  });
}

describe('a text file that cannot be used', () => {
  beforeEach(() => {
    useTextsStore.getState().setCalibration({ text: 'Once upon a time.', origin: 'calibration.txt' });
  });

  it('keeps the text it was meant to replace, says so, and holds Prune until the user decides', async () => {
    expect(blocker()).toBeUndefined();
    await applyTextFile({ path: 'empty.txt', file: new Blob([]) }, 'calibration');
    const { calibration, fileError } = useTextsStore.getState();
    expect(calibration).toEqual({ text: 'Once upon a time.', origin: 'calibration.txt' });
    expect(fileError).toMatchObject({ which: 'calibration', file: 'empty.txt', kept: 'calibration.txt' });
    expect(fileError?.message).toBe('empty.txt is empty.');
    expect(blocker()).toBe(
      'empty.txt could not be used: choose another file, or keep the current calibration text.',
    );

    await applyTextFile(
      { path: 'latin1.txt', file: new Blob([new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x20])]) },
      'calibration',
    );
    expect(useTextsStore.getState().fileError?.message).toBe(
      'latin1.txt is not UTF-8 text. Use a .txt or .jsonl file.',
    );
    keepCurrentText();
    expect(blocker()).toBeUndefined();
    expect(useTextsStore.getState().calibration.text).toBe('Once upon a time.');
  });

  it('is replaced by a good file, which also clears the problem', async () => {
    await applyTextFile({ path: 'empty.txt', file: new Blob([]) }, 'calibration');
    await applyTextFile({ path: 'story.txt', file: new Blob(['A fox read a book.']) }, 'calibration');
    expect(useTextsStore.getState().calibration).toEqual({ text: 'A fox read a book.', origin: 'story.txt' });
    expect(blocker()).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { collectedLabel, collectPickedFiles, notAModel, stripCommonFolder } from './drop';

const file = (path: string) => ({ path, file: new Blob(['x']) });

describe('files that are not a model', () => {
  it('say what was dropped or selected, in a sentence that agrees with it', () => {
    // The walkthrough: a dropped photo was "selected files has no config.json".
    const one = { files: [file('photo.png')] };
    expect(notAModel(one, 'dropped')).toMatch(
      /^The dropped file photo\.png is neither a model folder \(there is no config\.json\) nor a text file\. Drop the folder/,
    );
    expect(notAModel(one, 'selected')).toMatch(
      /^The selected file photo\.png .* Choose the folder of a model/,
    );
    expect(notAModel({ files: [file('a.png'), file('b.bin')] }, 'dropped')).toMatch(
      /^The 2 dropped files have no config\.json among them, so they are not a Hugging Face model\./,
    );
    expect(notAModel({ folderName: 'holiday', files: [file('photo.png')] }, 'dropped')).toMatch(
      /^The dropped folder holiday has no config\.json, so it is not a Hugging Face model folder\./,
    );
    expect(collectedLabel(one)).toBe('photo.png');
    expect(collectedLabel({ files: [file('a'), file('b')] })).toBe('2 files');
  });

  it('leave a folder with a config.json, even a nested one, to the model reader', () => {
    expect(notAModel({ files: [file('config.json'), file('model.safetensors')] }, 'dropped')).toBeUndefined();
    expect(notAModel({ files: [file('sub/config.json')] }, 'selected')).toBeUndefined();
  });

  it('take the common top folder as the name', () => {
    const picked = stripCommonFolder([
      file('stories260K/config.json'),
      file('stories260K/model.safetensors'),
    ]);
    expect(picked.folderName).toBe('stories260K');
    expect(picked.files.map((f) => f.path)).toEqual(['config.json', 'model.safetensors']);
    expect(() => collectPickedFiles([])).toThrow(/No files were selected/);
  });
});

import { describe, expect, it } from 'vitest';
import { readTextInput, TextFileError, textFromContent } from './text-file';

describe('calibration text files', () => {
  it('take plain text as it is', () => {
    expect(textFromContent('Once upon a time.\n', 'story.txt')).toBe('Once upon a time.\n');
  });

  it('take the text field of each JSON Lines record', () => {
    const jsonl = '{"text": "first", "id": 1}\n\n{"content": "second"}\r\n"third"\n';
    expect(textFromContent(jsonl, 'c4.jsonl')).toBe('first\n\nsecond\n\nthird');
  });

  it('say which line of a .jsonl file is wrong', () => {
    expect(() => textFromContent('{"text": "ok"}\n{broken', 'c4.jsonl')).toThrow(/line 2, is not valid JSON/);
    expect(() => textFromContent('{"text": "ok"}\n{"url": "x"}', 'c4.jsonl')).toThrow(
      /line 2, has no "text" field/,
    );
    expect(() => textFromContent('\n\n', 'c4.jsonl')).toThrow(TextFileError);
  });

  it('refuse binary, non-UTF-8 and empty files with their names', async () => {
    await expect(readTextInput(new Blob([new Uint8Array([0x50, 0x4b, 0, 3])]), 'model.zip')).rejects.toThrow(
      /model.zip looks like a binary file/,
    );
    await expect(readTextInput(new Blob([new Uint8Array([0xff, 0xfe, 0x41])]), 'latin1.txt')).rejects.toThrow(
      /latin1.txt is not UTF-8/,
    );
    await expect(readTextInput(new Blob(['  \n']), 'blank.txt')).rejects.toThrow(/blank.txt is empty/);
    await expect(readTextInput(new Blob(['hello']), 'ok.txt')).resolves.toBe('hello');
  });
});

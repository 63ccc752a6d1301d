/**
 * Recognizes common files dropped by mistake where a safetensors file was expected, from their first bytes, so the
 * user reads "this is a PNG image" instead of "header length 727905341920923785 is too large".
 */

const MAGICS: { bytes: number[]; what: string }[] = [
  { bytes: [0x89, 0x50, 0x4e, 0x47], what: 'a PNG image' },
  { bytes: [0xff, 0xd8, 0xff], what: 'a JPEG image' },
  { bytes: [0x47, 0x49, 0x46, 0x38], what: 'a GIF image' },
  { bytes: [0x25, 0x50, 0x44, 0x46], what: 'a PDF document' },
  // PyTorch's torch.save writes a zip archive (pytorch_model.bin, *.pt, *.pth).
  { bytes: [0x50, 0x4b, 0x03, 0x04], what: 'a zip archive (PyTorch .bin/.pt checkpoints are zip archives)' },
  { bytes: [0x47, 0x47, 0x55, 0x46], what: 'a GGUF file (llama.cpp)' },
  { bytes: [0x89, 0x48, 0x44, 0x46], what: 'an HDF5 file (TensorFlow/Keras .h5)' },
  { bytes: [0x1f, 0x8b], what: 'a gzip-compressed file' },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], what: 'a zstd-compressed file' },
  { bytes: [0x37, 0x7a, 0xbc, 0xaf], what: 'a 7-zip archive' },
  // Legacy (pre-1.6) torch.save and plain pickles start with the pickle protocol opcode.
  { bytes: [0x80, 0x02], what: 'a Python pickle (an old-style PyTorch checkpoint)' },
  { bytes: [0x80, 0x03], what: 'a Python pickle (an old-style PyTorch checkpoint)' },
  { bytes: [0x80, 0x04], what: 'a Python pickle' },
  { bytes: [0x80, 0x05], what: 'a Python pickle' },
  { bytes: [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59], what: 'a NumPy .npy array' },
  { bytes: [0x08, 0x00, 0x00, 0x00, 0x47, 0x47, 0x4d, 0x4c], what: 'a GGML file' },
];

/** What the file looks like, or undefined when nothing known matches. `start` is the file's first bytes (≥ 8). */
export function describeForeignFile(start: Uint8Array): string | undefined {
  for (const { bytes, what } of MAGICS) {
    if (bytes.length <= start.length && bytes.every((b, i) => start[i] === b)) return what;
  }
  const first = start[0];
  if (first === 0x7b || first === 0x5b) return 'a JSON file';
  if (isMostlyText(start)) return 'a text file';
  return undefined;
}

/** A safetensors length prefix has zero high bytes, so all-printable bytes mean text. */
function isMostlyText(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) {
    const b = bytes[i];
    const printable = (b >= 0x20 && b < 0x7f) || b === 0x09 || b === 0x0a || b === 0x0d;
    if (!printable) return false;
  }
  return true;
}

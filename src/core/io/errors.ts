/**
 * One error type for everything a user can get wrong about a model folder: broken or foreign files, missing pieces,
 * unsupported architectures, tokenizers that do not fit. The message is written for the user; `code` is for programs.
 */

export type ModelFileErrorCode =
  /** The file has zero bytes. */
  | 'empty-file'
  /** The file ends before the bytes its header promises. */
  | 'truncated'
  /** The 8-byte header length is larger than the cap (100 MB, like the reference implementation). */
  | 'header-too-large'
  /** The header is not a UTF-8 JSON object. */
  | 'bad-header'
  /** A different kind of file (an image, a PyTorch zip, GGUF …) where a safetensors file was expected. */
  | 'not-safetensors'
  | 'unknown-dtype'
  | 'bad-shape'
  /** data_offsets that are not two whole numbers [begin, end] with begin <= end. */
  | 'bad-offsets'
  | 'overlap'
  | 'gap'
  /** shape × dtype size differs from the tensor's byte range. */
  | 'size-mismatch'
  | 'trailing-bytes'
  | 'bad-metadata'
  | 'missing-file'
  | 'missing-weights'
  /** Weights in a format this tool does not read (PyTorch .bin/.pt, GGUF …). */
  | 'unsupported-weights'
  | 'missing-shard'
  /** More tensors (or index entries) than any real checkpoint has: see MAX_TENSORS. */
  | 'too-many-tensors'
  /** A symbolic link in the model folder that points outside it, or to something that is not a regular file. */
  | 'unsafe-link'
  /** config.json and the tensors disagree (layer count, hidden size, vocabulary). */
  | 'config-mismatch'
  | 'bad-index'
  | 'tensor-not-found'
  | 'duplicate-tensor'
  | 'unsupported-dtype'
  /** A weight holds NaN or ±Infinity: the file is damaged or was saved from a diverged run. */
  | 'non-finite-weights'
  | 'bad-json'
  | 'missing-config'
  | 'bad-config'
  | 'unsupported-architecture'
  | 'missing-tokenizer'
  | 'bad-tokenizer'
  | 'tokenizer-mismatch'
  | 'read-failed'
  | 'write-failed'
  /** The program drove a writer wrongly (wrong order, wrong length …): a bug, not bad input. */
  | 'bad-write';

export interface ModelFileErrorDetails {
  /** Path of the file inside the model folder. */
  file?: string;
  tensor?: string;
  cause?: unknown;
}

export class ModelFileError extends Error {
  readonly code: ModelFileErrorCode;
  readonly file?: string;
  readonly tensor?: string;

  constructor(code: ModelFileErrorCode, message: string, details: ModelFileErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ModelFileError';
    this.code = code;
    this.file = details.file;
    this.tensor = details.tensor;
  }
}

export function isModelFileError(error: unknown, code?: ModelFileErrorCode): error is ModelFileError {
  return error instanceof ModelFileError && (code === undefined || error.code === code);
}

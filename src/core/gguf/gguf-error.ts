/** A model this tool cannot write as a GGUF llama.cpp runs (shown by the CLI and the app as a refusal, exit 2). */
export class GgufExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedModelError';
  }
}

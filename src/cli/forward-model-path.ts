/** The model `eval` and `generate` take on the command line: a model folder, or a .gguf file this tool wrote. */
import { type ForwardModel, openForwardFolder, openGgufForward } from '../core/pipeline/forward-model';
import { fileByteSource, openFolder } from '../node/files';

export async function openForwardPath(path: string): Promise<ForwardModel> {
  if (path.toLowerCase().endsWith('.gguf')) return openGgufForward(await fileByteSource(path));
  return openForwardFolder(await openFolder(path));
}

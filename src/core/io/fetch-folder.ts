/** A model folder fetched over HTTP, e.g. the bundled demo model served from public/demo/. */
import { ModelFileError } from './errors';
import { folderFromBlobs, type ModelFolder } from './folder';

/** The bundled demo model (public/demo/stories260K, see its PROVENANCE.md), relative to the app's base URL. */
export const DEMO_MODEL = {
  name: 'stories260K',
  path: 'demo/stories260K/',
  /** The model folder proper. */
  files: [
    'config.json',
    'generation_config.json',
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
  ],
  /** Sample texts from disjoint parts of text the model generated itself (see PROVENANCE.md). */
  calibrationText: 'calibration.txt',
  evaluationText: 'evaluation.txt',
} as const;

export async function fetchModelFolder(
  baseUrl: string | URL,
  files: readonly string[],
  name: string,
  fetchImpl: typeof fetch = fetch,
): Promise<ModelFolder> {
  const base = new URL(baseUrl.toString().endsWith('/') ? baseUrl : `${baseUrl}/`);
  const blobs = await Promise.all(
    files.map(
      async (path): Promise<[string, Blob]> => [path, await fetchBlob(new URL(path, base), path, fetchImpl)],
    ),
  );
  return folderFromBlobs(blobs, name);
}

async function fetchBlob(url: URL, path: string, fetchImpl: typeof fetch): Promise<Blob> {
  let response: Response;
  try {
    response = await fetchImpl(url);
  } catch (cause) {
    throw new ModelFileError('read-failed', `could not download ${path} from ${url}: ${String(cause)}`, {
      file: path,
      cause,
    });
  }
  if (!response.ok) {
    throw new ModelFileError(
      'missing-file',
      `could not download ${path}: ${url} answered ${response.status}`,
      {
        file: path,
      },
    );
  }
  return response.blob();
}

/** What the float64 reference blocks share: how they read tensors, the shape of a chunk, the capture callback. */
import type { ModelConfig } from '../../model/types';

export type ReferenceTensors = (name: string) => Float32Array | Float64Array;

export interface ReferenceShape {
  sequences: number;
  seqLen: number;
  positionOffset?: number;
}

/**
 * Called with the input of each group of linears: attention, attention_output, mlp, mlp_output. Mixture-of-experts
 * blocks call mlp and mlp_output once per expert that has inputs, with `expert` set and X holding the rows of the
 * tokens routed to it (or of every token, where the model calibrates every expert on all of them).
 */
export type ReferenceCapture = (role: string, X: Float64Array, tokens: number, expert?: number) => void;

/** Which tokens an expert's Hessian is taken over: those the router sends to it, or all (llm-compressor's option). */
export type { ExpertCalibration } from '../../settings/prune-settings';

import type { ExpertCalibration } from '../../settings/prune-settings';

/** One block call: the model, its tensors by full name, the chunk and where its inputs go. */
export interface BlockContext {
  config: ModelConfig;
  t: (name: string) => Float32Array | Float64Array;
  shape: ReferenceShape;
  capture?: ReferenceCapture;
  expertCalibration: ExpertCalibration;
}

/** The ACTIVATION override codes of shaders/forward/activations.wgsl. */
import type { Activation } from '../../model/types';

export const ACTIVATION_CODE = {
  identity: 0,
  relu: 1,
  gelu_new: 2,
  gelu_pytorch_tanh: 2,
  gelu: 3,
  silu: 4,
} as const satisfies Record<Activation | 'identity', number>;

export type ActivationName = keyof typeof ACTIVATION_CODE;

/**
 * The mixture-of-experts MLP of one token slice (Mixtral, Qwen3-MoE): the router's logits on the GPU, the routing on
 * the host (moe-routing.ts), then one expert at a time — its tokens' normalised rows gathered, gate|up, the gated
 * activation, down, and each row added back to its token's residual stream times its routing weight. The residual
 * stream is copied to the output first, so the block's output is h + Σ_k w_k · expert_k(x), as transformers sums it.
 * Only one expert's intermediates exist at a time, sized for one token slice; the calibration capture gets each
 * expert's own input rows (its mlp and mlp_output groups, the expert set on them).
 */
import { createStorageBuffer, readFloat32, uploadArray } from '../gpu/buffers';
import type { GpuContext } from '../gpu/context';
import type { CommandRecorder } from '../gpu/recorder';
import { SplitMatrix } from '../gpu/split-matrix';
import type { Architecture, InputGroup, MoeSpec } from './architecture';
import type { MoeWeights } from './block-weights';
import { encodeGather } from './kernels/embedding';
import { encodeExpertScatter } from './kernels/expert-scatter';
import { encodeLinear } from './kernels/linear';
import { encodeGatedActivation } from './kernels/swiglu';
import { planExpertRoutes } from './moe-routing';

export interface ExpertMlpCall {
  recorder: CommandRecorder;
  weights: MoeWeights;
  spec: MoeSpec;
  /** The slice's normalised states, rows [0, tokens). */
  normed: GPUBuffer;
  tokens: number;
  /** The residual stream h, rows [0, tokens). */
  residual: GPUBuffer;
  /** Where h + the experts' sum goes: rows [row, row + tokens) of `buffer`. */
  out: { buffer: GPUBuffer; row: number };
  /** Gather every token for every expert (only while capturing: the output is the same). */
  everyToken: boolean;
  capture(group: InputGroup, X: GPUBuffer, tokens: number): Promise<void>;
}

export class ExpertMlp {
  private readonly routerLogits: GPUBuffer;
  private readonly input: GPUBuffer;
  private readonly output: GPUBuffer;

  /** Buffers for slices of up to `capacity` tokens; `gateUp` and `activated` are the block's MLP scratch. */
  constructor(
    private readonly ctx: GpuContext,
    private readonly arch: Architecture,
    capacity: number,
    experts: number,
    private readonly gateUp: GPUBuffer,
    private readonly activated: GPUBuffer,
  ) {
    const H = arch.hiddenSize;
    this.routerLogits = createStorageBuffer(ctx, capacity * experts * 4, 'router logits');
    this.input = createStorageBuffer(ctx, capacity * H * 4, 'expert input');
    this.output = createStorageBuffer(ctx, capacity * H * 4, 'expert output');
  }

  async encode(call: ExpertMlpCall): Promise<void> {
    const { ctx, arch } = this;
    const { recorder, weights, spec, tokens } = call;
    const H = arch.hiddenSize;
    encodeLinear(ctx, recorder, { X: call.normed, tokens, W: weights.router, Y: this.routerLogits });
    recorder.submit();
    const logits = await readFloat32(ctx, this.routerLogits, tokens * spec.experts);
    const routing = planExpertRoutes(logits, tokens, spec, call.everyToken);
    const routes = uploadArray(ctx, routing.data, 'expert routes');
    try {
      recorder.commands.copyBufferToBuffer(
        call.residual,
        0,
        call.out.buffer,
        call.out.row * H * 4,
        tokens * H * 4,
      );
      const states = SplitMatrix.over(ctx, call.normed, tokens, H, 'normalised states');
      for (const plan of routing.experts) {
        const expert = weights.experts[plan.expert];
        const count = plan.gathered;
        encodeGather(ctx, recorder, {
          table: states,
          ids: routes,
          idStart: plan.gatherStart,
          tokens: count,
          Y: this.input,
          accumulate: false,
        });
        await call.capture(expert.mlp.group, this.input, count);
        encodeLinear(ctx, recorder, {
          X: this.input,
          tokens: count,
          W: expert.mlp.W,
          bias: expert.mlp.bias,
          Y: this.gateUp,
        });
        encodeGatedActivation(ctx, recorder, {
          gateUp: this.gateUp,
          tokens: count,
          intermediate: spec.intermediateSize,
          activation: arch.mlp.activation,
          Y: this.activated,
        });
        await call.capture(expert.mlp_output.group, this.activated, count);
        encodeLinear(ctx, recorder, {
          X: this.activated,
          tokens: count,
          W: expert.mlp_output.W,
          bias: expert.mlp_output.bias,
          Y: this.output,
        });
        encodeExpertScatter(ctx, recorder, {
          X: this.output,
          features: H,
          routes,
          routeStart: plan.routeStart,
          count: plan.routes,
          Y: call.out.buffer,
          yRowStart: call.out.row,
        });
      }
      // The routes are read by the dispatches just recorded: they go to the GPU before the buffer does.
      recorder.submit();
    } finally {
      routes.destroy();
    }
  }

  destroy(): void {
    for (const buffer of [this.routerLogits, this.input, this.output]) buffer.destroy();
  }
}

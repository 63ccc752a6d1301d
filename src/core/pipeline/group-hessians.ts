/**
 * One block's Hessians, one per input group (per expert where a group has one), as the calibration capture folds
 * each group's inputs into them; a group's Hessian is taken by its solve and freed after it.
 */
import type { InputGroup } from '../forward/architecture';
import type { CaptureInput } from '../forward/block-runner';
import type { GpuContext } from '../gpu/context';
import { HessianAccumulator } from '../sparsegpt/hessian';

/** The key of a group's Hessian: its role, and its expert where it has one (each expert has its own). */
export function hessianKey(group: InputGroup): string {
  return group.expert === undefined ? group.role : `${group.role} expert ${group.expert}`;
}

export class GroupHessians {
  private readonly byKey = new Map<string, HessianAccumulator>();

  /** `time` times the accumulation as the run's Hessians stage. */
  constructor(
    private readonly ctx: GpuContext,
    private readonly time: (work: () => void) => Promise<void>,
  ) {}

  /** A capture callback folding the inputs of the groups whose key `wanted` accepts; the others pass by. */
  capture(wanted: (key: string) => boolean): CaptureInput {
    return async (group, X, tokens) => {
      const key = hessianKey(group);
      if (!wanted(key)) return;
      // The forward so far is the calibration forward's; the accumulation is the Hessians'.
      await this.ctx.device.queue.onSubmittedWorkDone();
      await this.time(() => {
        let H = this.byKey.get(key);
        if (!H) {
          H = new HessianAccumulator(this.ctx, group.features);
          this.byKey.set(key, H);
        }
        H.add(X, tokens);
      });
    };
  }

  /** The group's Hessian, if the capture saw any input for it. */
  get(group: InputGroup): HessianAccumulator | undefined {
    return this.byKey.get(hessianKey(group));
  }

  /** Frees the group's Hessian once its linears are solved. */
  release(group: InputGroup): void {
    const key = hessianKey(group);
    this.byKey.get(key)?.destroy();
    this.byKey.delete(key);
  }

  destroy(): void {
    for (const H of this.byKey.values()) H.destroy();
    this.byKey.clear();
  }
}

/** The worker's one GPU device, opened on first use and replaced on the next request after it is lost. */
import { createGpuContext, type GpuContext } from '../core/gpu/context';

let context: Promise<GpuContext> | undefined;

export function gpuContext(): Promise<GpuContext> {
  if (!context) {
    const opening = createGpuContext(navigator.gpu);
    context = opening;
    opening.then(
      (ctx) =>
        ctx.lost.then(() => {
          if (context === opening) context = undefined;
        }),
      () => {
        if (context === opening) context = undefined;
      },
    );
  }
  return context;
}

/** The device opened so far, if any, without opening one. */
export function openedGpuContext(): Promise<GpuContext> | undefined {
  return context;
}

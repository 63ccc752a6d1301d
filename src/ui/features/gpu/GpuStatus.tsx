import { useGpuStore } from '../../../store/gpu';
import { formatBytes } from '../../shared/format';

/** Limits are powers of two, so they read best in binary units. */
export function GpuStatus() {
  const report = useGpuStore((s) => s.report);
  if (!report) {
    return (
      <section className="card gpu" aria-label="WebGPU status" aria-busy="true">
        <h2>WebGPU</h2>
        <p className="loading">
          <span className="spinner" aria-hidden="true" /> Looking for a GPU…
        </p>
      </section>
    );
  }
  if (!report.ok) {
    return (
      <section className="card gpu error" aria-label="WebGPU status" role="alert">
        <h2>WebGPU is not available</h2>
        <p>{report.error}</p>
        <p className="hint">
          Everything else on this page needs it; nothing can be pruned without a GPU adapter.
        </p>
      </section>
    );
  }
  const { adapter, limits, features } = report;
  return (
    <section className="card gpu" aria-label="WebGPU status">
      <h2>
        WebGPU <span className={`dot ${adapter.isSoftware ? 'warn' : 'ok'}`} aria-hidden="true" />
      </h2>
      <p data-testid="adapter-name" className="adapter">
        <strong>{adapter.name}</strong>
        {report.inWorker ? ' · in a Web Worker' : ''}
      </p>
      {adapter.isSoftware && (
        <p className="hint">
          This is a software adapter: everything works, but slowly. A real GPU is many times faster.
        </p>
      )}
      <dl className="facts">
        <dt>Largest buffer binding</dt>
        <dd>{formatBytes(limits.maxStorageBufferBindingSize)}</dd>
        <dt>Largest buffer</dt>
        <dd>{formatBytes(limits.maxBufferSize)}</dd>
        <dt>Workgroup memory</dt>
        <dd>{Math.round(limits.maxComputeWorkgroupStorageSize / 1024)} KiB</dd>
        <dt>Half precision (f16)</dt>
        <dd>{features.shaderF16 ? 'yes' : 'no'}</dd>
        <dt>Subgroups</dt>
        <dd>{features.subgroups ? 'yes' : 'no'}</dd>
      </dl>
    </section>
  );
}

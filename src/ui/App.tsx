import { useEffect } from 'react';
import { useGpuStore } from '../store/gpu';
import { startPruner } from '../worker/client';
import { GpuStatus } from './GpuStatus';

const pruner = startPruner();

export function App() {
  const setReport = useGpuStore((s) => s.setReport);
  useEffect(() => {
    pruner.api.probeGpu().then(setReport, (error: unknown) => setReport({ ok: false, error: String(error) }));
  }, [setReport]);
  return (
    <main className="app">
      <header>
        <h1>SparseGPT in your browser</h1>
        <p className="tagline">Prune a language model on your own GPU. Nothing is uploaded.</p>
      </header>
      <GpuStatus />
    </main>
  );
}

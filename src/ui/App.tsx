import { useEffect, useState } from 'react';
import { useGpuStore } from '../store/gpu';
import { initApp, restartNotices } from './controller';
import { DropOverlay } from './DropOverlay';
import { ErrorBoundary } from './ErrorBoundary';
import { ExplorerCard } from './ExplorerCard';
import { GpuStatus } from './GpuStatus';
import { HistoryCard } from './HistoryCard';
import { ModelCard } from './ModelCard';
import { ResultCard } from './ResultCard';
import { ResumeCard } from './ResumeCard';
import { RunCard } from './RunCard';
import { SettingsCard } from './SettingsCard';
import { TextsCard } from './TextsCard';

function RestartNotice() {
  const [message, setMessage] = useState<string>();
  useEffect(() => {
    restartNotices.add(setMessage);
    return () => void restartNotices.delete(setMessage);
  }, []);
  if (!message) return null;
  return (
    <div className="banner" role="status">
      <span>{message}</span>
      <button type="button" className="quiet" onClick={() => setMessage(undefined)}>
        Dismiss
      </button>
    </div>
  );
}

export function App() {
  const setReport = useGpuStore((s) => s.setReport);
  useEffect(() => initApp(setReport), [setReport]);
  return (
    <div className="app">
      <header className="masthead">
        <div className="brand">
          <img src="/favicon.svg" alt="" width="36" height="36" />
          <div>
            <h1>SparseGPT in your browser</h1>
            <p className="tagline">
              Prune a language model on your own GPU with SparseGPT. Your files never leave this computer.
            </p>
          </div>
        </div>
      </header>
      <RestartNotice />
      <ErrorBoundary>
        <main>
          <ResumeCard />
          <div className="grid two top">
            <ModelCard />
            <GpuStatus />
          </div>
          <div className="grid two">
            <TextsCard />
            <SettingsCard />
          </div>
          <RunCard />
          <ResultCard />
          <ExplorerCard />
          <HistoryCard />
        </main>
      </ErrorBoundary>
      <DropOverlay />
      <footer className="footer">
        SparseGPT: Frantar &amp; Alistarh, “Massive Language Models Can Be Accurately Pruned in One-Shot”,
        ICML 2023. Pruning runs in a Web Worker on WebGPU; the pruned model is written to this browser's
        private storage until you save it.
      </footer>
    </div>
  );
}

import { useEffect } from 'react';
import { DropOverlay } from './app/DropOverlay';
import { initApp } from './app/init';
import { openCollected } from './app/open-files';
import { RestartNotice } from './app/RestartNotice';
import { ExplorerCard } from './features/explorer/ExplorerCard';
import { GenerateCard } from './features/generate/GenerateCard';
import { GpuStatus } from './features/gpu/GpuStatus';
import { HistoryCard } from './features/history/HistoryCard';
import { LayerTargetsCard } from './features/layer-targets/LayerTargetsCard';
import { ModelCard } from './features/model/ModelCard';
import { ResumeCard } from './features/resume/ResumeCard';
import { ResultCard } from './features/run/ResultCard';
import { RunCard } from './features/run/RunCard';
import { SettingsCard } from './features/settings/SettingsCard';
import { SweepCard } from './features/sweep/SweepCard';
import { TextsCard } from './features/texts/TextsCard';
import { ErrorBoundary } from './shared/ErrorBoundary';

export function App() {
  useEffect(initApp, []);
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
            <ModelCard onFiles={openCollected} />
            <GpuStatus />
          </div>
          <div className="grid two">
            <TextsCard />
            <SettingsCard />
          </div>
          <LayerTargetsCard />
          <RunCard />
          <ResultCard />
          <GenerateCard />
          <ExplorerCard />
          <SweepCard />
          <HistoryCard />
        </main>
      </ErrorBoundary>
      <DropOverlay onFiles={openCollected} />
      <footer className="footer">
        SparseGPT: Frantar &amp; Alistarh, “Massive Language Models Can Be Accurately Pruned in One-Shot”,
        ICML 2023. Pruning runs in a Web Worker on WebGPU; the pruned model is written to this browser's
        private storage until you save it.
      </footer>
    </div>
  );
}

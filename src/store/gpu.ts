import { create } from 'zustand';
import type { GpuReport } from '../worker/api';

interface GpuState {
  report: GpuReport | undefined;
  setReport(report: GpuReport): void;
}

export const useGpuStore = create<GpuState>((set) => ({
  report: undefined,
  setReport: (report) => set({ report }),
}));

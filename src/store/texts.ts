/** Calibration and evaluation texts, where each came from, and what the tokenizer made of them. */
import { create } from 'zustand';

export interface TextSource {
  text: string;
  /** Where it came from, in words: "samples.txt", "pasted text", "bundled sample". */
  origin: string;
}

export interface CalibrationMeasure {
  textTokens: number;
  nsamples: number;
  seqlen: number;
  notes: string[];
}

export interface EvaluationMeasure {
  textTokens: number;
  windows: number;
  seqlen: number;
  notes: string[];
}

export interface Measured<T> {
  /** The text and settings the measure was made for, so stale answers are recognised. */
  key: string;
  value?: T;
  error?: string;
}

export interface TextFileProblem {
  which: 'calibration' | 'evaluation';
  message: string;
  /** The file that could not be used. */
  file?: string;
  /** Where the text still in use came from; undefined when there is none. */
  kept?: string;
}

export interface TextsState {
  calibration: TextSource;
  evaluation: TextSource;
  calibrationMeasure?: Measured<CalibrationMeasure>;
  evaluationMeasure?: Measured<EvaluationMeasure>;
  /** A problem reading a dropped or picked text file; the text it was meant to replace is unchanged. */
  fileError?: TextFileProblem;
  setCalibration(source: TextSource): void;
  setEvaluation(source: TextSource): void;
  setCalibrationMeasure(measure: Measured<CalibrationMeasure> | undefined): void;
  setEvaluationMeasure(measure: Measured<EvaluationMeasure> | undefined): void;
  setFileError(error: TextsState['fileError']): void;
}

const EMPTY: TextSource = { text: '', origin: '' };

export const useTextsStore = create<TextsState>((set) => ({
  calibration: EMPTY,
  evaluation: EMPTY,
  setCalibration: (calibration) => set({ calibration, fileError: undefined }),
  setEvaluation: (evaluation) => set({ evaluation, fileError: undefined }),
  setCalibrationMeasure: (calibrationMeasure) => set({ calibrationMeasure }),
  setEvaluationMeasure: (evaluationMeasure) => set({ evaluationMeasure }),
  setFileError: (fileError) => set({ fileError }),
}));

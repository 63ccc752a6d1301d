/** The sweep form's text fields read into a SweepRequest, with a specific message for each bad entry. */
import type { PruneMethod } from '../../../core/settings/prune-settings';
import type { SweepRequest } from '../../../core/sweep/sweep';

export interface SweepForm {
  methods: PruneMethod[];
  /** Percentages, comma- or space-separated: "30, 50, 70". */
  sparsities: string;
  /** N:M patterns: "2:4, 4:8". */
  patterns: string;
}

const entries = (text: string) => text.split(/[\s,;]+/).filter(Boolean);

export function readSweepForm(form: SweepForm): { request: SweepRequest; problems: string[] } {
  const problems: string[] = [];
  const sparsities: number[] = [];
  for (const entry of entries(form.sparsities)) {
    const value = Number(entry.replace(/%$/, ''));
    if (!Number.isFinite(value)) problems.push(`“${entry}” is not a percentage (e.g. 50).`);
    else sparsities.push(value / 100);
  }
  const patterns: SweepRequest['patterns'] = [];
  for (const entry of entries(form.patterns)) {
    const match = /^(\d+):(\d+)$/.exec(entry);
    if (!match) problems.push(`“${entry}” is not an N:M pattern (e.g. 2:4).`);
    else patterns.push({ n: Number(match[1]), m: Number(match[2]) });
  }
  return { request: { methods: form.methods, sparsities, patterns }, problems };
}

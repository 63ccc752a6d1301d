/**
 * A note from the pipeline or the tokenizer: a warning (the calibration text is short, a layer was left dense), or
 * information the user asked for (a limit on the evaluation windows scored), which is not styled as a warning.
 */
import { isWindowLimitNote } from '../../core/eval/perplexity-windows';

export type NoteKind = 'warning' | 'info';

export function noteKind(text: string): NoteKind {
  return isWindowLimitNote(text) ? 'info' : 'warning';
}

export function Note({ text }: { text: string }) {
  return <p className={noteKind(text) === 'info' ? 'info' : 'note'}>{text}</p>;
}

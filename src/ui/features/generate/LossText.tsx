/**
 * The evaluation text coloured by each token's loss increase (pruned minus dense, in nats): red where the pruned
 * model finds the token harder, green where easier, the stronger the larger the change; each token's losses in its
 * tooltip, and the tokens that got hardest listed in words.
 */
import { useState } from 'react';
import type { GenerationTarget } from '../../../store/generate';
import { useTextsStore } from '../../../store/texts';
import type { TokenLossReply } from '../../../worker/api';
import { errorMessage } from '../../shared/format';
import { measureLosses } from './actions';

/** The change (nats) shown at full colour. */
const FULL_COLOUR = 3;

function colourOf(delta: number): string {
  const strength = Math.min(1, Math.abs(delta) / FULL_COLOUR);
  const rgb = delta > 0 ? '220, 38, 38' : '22, 163, 74';
  return `rgba(${rgb}, ${(0.75 * strength).toFixed(3)})`;
}

function mean(values: Array<number | null>): number {
  const scored = values.filter((v): v is number => v !== null);
  return scored.reduce((sum, v) => sum + v, 0) / Math.max(1, scored.length);
}

interface ShownToken {
  position: number;
  piece: string;
  /** Pruned minus dense loss; undefined for the first token (context only). */
  delta?: number;
  title?: string;
}

function shownTokens(losses: TokenLossReply): ShownToken[] {
  return losses.pieces.map((piece, position) => {
    const [dense, pruned] = [losses.dense[position], losses.pruned[position]];
    if (dense === null || pruned === null) return { position, piece };
    const delta = pruned - dense;
    const title =
      `“${piece.trim()}”: dense ${dense.toFixed(2)}, pruned ${pruned.toFixed(2)} nats ` +
      `(${delta >= 0 ? '+' : ''}${delta.toFixed(2)})`;
    return { position, piece, delta, title };
  });
}

function Coloured({ losses }: { losses: TokenLossReply }) {
  const tokens = shownTokens(losses);
  const hardest = tokens
    .filter((t) => t.delta !== undefined && t.delta > 0)
    .sort((a, b) => (b.delta as number) - (a.delta as number))
    .slice(0, 5);
  return (
    <>
      <p className="muted small" data-testid="loss-summary">
        Mean loss over {losses.pieces.length - 1} tokens: dense {mean(losses.dense).toFixed(3)}, pruned{' '}
        {mean(losses.pruned).toFixed(3)} nats
        {losses.droppedTokens > 0 ? ` (the first ${losses.pieces.length} tokens of the text)` : ''}.
      </p>
      <figure className="loss-text" aria-label="Evaluation text coloured by loss increase">
        {tokens.map((token) =>
          token.delta === undefined ? (
            <span key={token.position}>{token.piece}</span>
          ) : (
            <span
              key={token.position}
              className="loss-token"
              style={{ background: colourOf(token.delta) }}
              title={token.title}
              data-delta={token.delta.toFixed(4)}
            >
              {token.piece}
            </span>
          ),
        )}
      </figure>
      {hardest.length > 0 && (
        <p className="small" data-testid="hardest-tokens">
          Hardest for the pruned model:{' '}
          {hardest.map((token, k) => (
            <span key={token.position}>
              {k > 0 ? ', ' : ''}“{token.piece.trim()}” (+{(token.delta as number).toFixed(2)})
            </span>
          ))}
          .
        </p>
      )}
    </>
  );
}

export function LossText({ target }: { target: GenerationTarget }) {
  const text = useTextsStore((s) => s.evaluation.text);
  const [state, setState] = useState<{ busy?: boolean; losses?: TokenLossReply; error?: string }>({});
  const measure = () => {
    setState({ busy: true });
    measureLosses(target, text).then(
      (losses) => setState({ losses }),
      (error: unknown) => setState({ error: errorMessage(error) }),
    );
  };
  return (
    <div className="loss-view">
      <h3>Which words got harder</h3>
      <p className="hint">
        The evaluation text, each token coloured by how much harder the pruned model finds it than the dense
        one (red: harder, green: easier; hover for the losses).
      </p>
      <div className="actions small">
        <button type="button" onClick={measure} disabled={state.busy}>
          {state.busy ? 'Scoring…' : 'Colour the evaluation text'}
        </button>
      </div>
      {state.error && (
        <p className="problem-inline" role="alert">
          {state.error}
        </p>
      )}
      {state.losses && <Coloured losses={state.losses} />}
    </div>
  );
}

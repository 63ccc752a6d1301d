/** The quantization choice beside the pattern: the weight type (by llama.cpp's names) and GPTQ or round-to-nearest. */
import type { Quantization, QuantMethod } from '../../../core/settings/prune-settings';
import { useSettingsStore } from '../../../store/settings';

/** The weight types a user picks from, by llama.cpp's names (q4_k_m: its Q4_K/Q6_K mix). */
const QUANTIZATION_CHOICES: Array<{ value: Quantization; label: string; note: string }> = [
  { value: 'none', label: 'None', note: 'float weights, as the model has them' },
  { value: 'q8_0', label: '8-bit', note: 'Q8_0: blocks of 32 weights, 8.5 bits each' },
  { value: 'q4_0', label: '4-bit', note: 'Q4_0: blocks of 32 weights, 4.5 bits each' },
  { value: 'q4_k_m', label: '4-bit K-mix', note: 'Q4_K_M: Q4_K with Q6_K for the most sensitive tensors' },
];

const QUANT_METHOD_LABELS: Record<QuantMethod, { label: string; note: string }> = {
  gptq: {
    label: 'GPTQ',
    note: 'rounds in the same walk as pruning and corrects the weights not yet rounded',
  },
  rtn: { label: 'Round to nearest', note: 'llama.cpp’s own quantizer, after pruning (the baseline)' },
};

export function QuantizationField({ disabled }: { disabled: boolean }) {
  const quantization = useSettingsStore((s) => s.settings.quantization);
  const quantMethod = useSettingsStore((s) => s.settings.quantMethod);
  const update = useSettingsStore((s) => s.update);
  return (
    <fieldset className="choices quantization" disabled={disabled}>
      <legend>Quantization</legend>
      {QUANTIZATION_CHOICES.map((q) => (
        <label key={q.value} className="choice">
          <input
            type="radio"
            name="quantization"
            value={q.value}
            checked={quantization === q.value}
            onChange={() => update({ quantization: q.value })}
          />
          <span>
            <strong>{q.label}</strong> <span className="muted">{q.note}</span>
          </span>
        </label>
      ))}
      {quantization !== 'none' && (
        <div className="quant-method" role="radiogroup" aria-label="Quantization method">
          {(Object.keys(QUANT_METHOD_LABELS) as QuantMethod[]).map((method) => (
            <label key={method} className="choice">
              <input
                type="radio"
                name="quant-method"
                value={method}
                checked={quantMethod === method}
                onChange={() => update({ quantMethod: method })}
              />
              <span>
                <strong>{QUANT_METHOD_LABELS[method].label}</strong>{' '}
                <span className="muted">{QUANT_METHOD_LABELS[method].note}</span>
              </span>
            </label>
          ))}
        </div>
      )}
    </fieldset>
  );
}

/** The quantization choice beside the pattern: the weight type (by llama.cpp's names) and GPTQ or round-to-nearest. */
import type { Quantization, QuantMethod } from '../../../core/settings/prune-settings';
import { useSettingsStore } from '../../../store/settings';
import { type RadioChoice, RadioChoices } from '../../shared/RadioChoices';

/** The weight types a user picks from, by llama.cpp's names (q4_k_m: its Q4_K/Q6_K mix). */
const QUANTIZATION_CHOICES: Array<RadioChoice<Quantization>> = [
  { value: 'none', label: 'None', note: 'float weights, as the model has them' },
  { value: 'q8_0', label: '8-bit', note: 'Q8_0: blocks of 32 weights, 8.5 bits each' },
  { value: 'q4_0', label: '4-bit', note: 'Q4_0: blocks of 32 weights, 4.5 bits each' },
  { value: 'q4_k_m', label: '4-bit K-mix', note: 'Q4_K_M: Q4_K with Q6_K for the most sensitive tensors' },
];

const QUANT_METHOD_CHOICES: Array<RadioChoice<QuantMethod>> = [
  {
    value: 'gptq',
    label: 'GPTQ',
    note: 'rounds in the same walk as pruning and corrects the weights not yet rounded',
  },
  {
    value: 'rtn',
    label: 'Round to nearest',
    note: 'llama.cpp’s own quantizer, after pruning (the baseline)',
  },
];

export function QuantizationField({ disabled }: { disabled: boolean }) {
  const quantization = useSettingsStore((s) => s.settings.quantization);
  const quantMethod = useSettingsStore((s) => s.settings.quantMethod);
  const update = useSettingsStore((s) => s.update);
  return (
    <fieldset className="choices quantization" disabled={disabled}>
      <legend>Quantization</legend>
      <RadioChoices
        name="quantization"
        choices={QUANTIZATION_CHOICES}
        selected={quantization}
        onChoose={(value) => update({ quantization: value })}
      />
      {quantization !== 'none' && (
        <div className="quant-method" role="radiogroup" aria-label="Quantization method">
          <RadioChoices
            name="quant-method"
            choices={QUANT_METHOD_CHOICES}
            selected={quantMethod}
            onChoose={(method) => update({ quantMethod: method })}
          />
        </div>
      )}
    </fieldset>
  );
}

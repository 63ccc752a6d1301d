/**
 * The output format beside the quantization: the input's safetensors layout, or one .gguf file llama.cpp runs. GGUF
 * is offered only for families llama.cpp has (the core's own reason is shown for the others).
 */
import type { OutputFormat } from '../../../core/settings/prune-settings';
import { readySummary, useModelStore } from '../../../store/model';
import { useSettingsStore } from '../../../store/settings';

const FORMAT_CHOICES: Array<{ value: OutputFormat; label: string; note: string }> = [
  {
    value: 'safetensors',
    label: 'Safetensors folder',
    note: 'the input’s layout, loads with transformers (quantized weights as their values)',
  },
  {
    value: 'gguf',
    label: 'One .gguf file',
    note: 'for llama.cpp, Ollama, LM Studio: the quantized blocks themselves, a fraction of the size',
  },
];

export function OutputFormatField({ disabled }: { disabled: boolean }) {
  const format = useSettingsStore((s) => s.settings.format);
  const update = useSettingsStore((s) => s.update);
  const unsupported = readySummary(useModelStore((s) => s.status))?.ggufUnsupported;
  return (
    <fieldset className="choices output-format" disabled={disabled}>
      <legend>Output format</legend>
      {FORMAT_CHOICES.map((choice) => (
        <label key={choice.value} className="choice">
          <input
            type="radio"
            name="output-format"
            value={choice.value}
            checked={format === choice.value}
            disabled={choice.value === 'gguf' && unsupported !== undefined && format !== 'gguf'}
            onChange={() => update({ format: choice.value })}
          />
          <span>
            <strong>{choice.label}</strong> <span className="muted">{choice.note}</span>
          </span>
        </label>
      ))}
      {unsupported && (
        <p className="hint" data-testid="gguf-unsupported">
          {unsupported}
        </p>
      )}
    </fieldset>
  );
}

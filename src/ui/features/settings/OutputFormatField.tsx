/**
 * The output format beside the quantization: the input's safetensors layout, or one .gguf file llama.cpp runs. GGUF
 * is offered only for families llama.cpp has (the core's own reason is shown for the others).
 */
import type { OutputFormat } from '../../../core/settings/prune-settings';
import { readySummary, useModelStore } from '../../../store/model';
import { useSettingsStore } from '../../../store/settings';
import { type RadioChoice, RadioChoices } from '../../shared/RadioChoices';

const FORMAT_CHOICES: Array<RadioChoice<OutputFormat>> = [
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
      <RadioChoices
        name="output-format"
        choices={FORMAT_CHOICES.map((choice) => ({
          ...choice,
          disabled: choice.value === 'gguf' && unsupported !== undefined && format !== 'gguf',
        }))}
        selected={format}
        onChoose={(value) => update({ format: value })}
      />
      {unsupported && (
        <p className="hint" data-testid="gguf-unsupported">
          {unsupported}
        </p>
      )}
    </fieldset>
  );
}

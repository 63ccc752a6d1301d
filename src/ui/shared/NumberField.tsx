import { useId } from 'react';

/** A labelled number input whose empty state is `undefined` (the settings' "not set"), with an optional hint. */
export function NumberField(props: {
  label: string;
  value: number | undefined;
  onChange(value: number | undefined): void;
  min?: number;
  max?: number;
  step?: number;
  hint?: string;
  placeholder?: string;
  disabled?: boolean;
}) {
  const id = useId();
  const { label, value, onChange, hint, ...rest } = props;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        inputMode="decimal"
        value={value === undefined || Number.isNaN(value) ? '' : value}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(e) => {
          const raw = e.currentTarget.value;
          onChange(raw === '' ? undefined : Number(raw));
        }}
        {...rest}
      />
      {hint && (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
    </div>
  );
}

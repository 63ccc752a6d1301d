import type { ReactNode } from 'react';

/** One option of a radio list: its value, its label, and a muted note after the label where it has one. */
export interface RadioChoice<T extends string> {
  value: T;
  label: ReactNode;
  note?: ReactNode;
  /** Greyed out (the caller says why beside the list). */
  disabled?: boolean;
}

/**
 * The radio options of one setting, each a `label.choice` around its input: the page's one markup for a choice
 * among a few (method, pattern, quantization), so that they look and read alike. The caller supplies the fieldset
 * or radiogroup around them.
 */
export function RadioChoices<T extends string>(props: {
  name: string;
  choices: ReadonlyArray<RadioChoice<T>>;
  selected: T;
  onChoose(value: T): void;
}) {
  const { name, choices, selected, onChoose } = props;
  return choices.map((choice) => (
    <label key={choice.value} className="choice">
      <input
        type="radio"
        name={name}
        value={choice.value}
        checked={selected === choice.value}
        disabled={choice.disabled}
        onChange={() => onChoose(choice.value)}
      />
      {choice.note === undefined ? (
        <span>{choice.label}</span>
      ) : (
        <span>
          <strong>{choice.label}</strong> <span className="muted">{choice.note}</span>
        </span>
      )}
    </label>
  ));
}

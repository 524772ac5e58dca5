// The filter bar: the same conditions the edge filters on, and presets.

import { memo, useEffect, useState } from "react";
import {
  applyPreset, type Filter, LISTS, type ListField, PRESETS, parseSymbols, presetOf, validate,
} from "../filter";
import { money } from "./format";

interface Props {
  filter: Filter;
  onChange(f: Filter): void;
}

const LABELS: Record<ListField, string> = {
  kinds: "kind",
  sides: "side",
  sentiments: "sentiment",
  rights: "C/P",
  flags: "flags",
};

export const Filters = memo(function Filters({ filter, onChange }: Props) {
  const [symbols, setSymbols] = useState(filter.symbols.join(", "));
  const [error, setError] = useState<string>();
  useEffect(() => setSymbols(filter.symbols.join(", ")), [filter.symbols]);

  const apply = (next: Filter) => {
    try {
      const v = validate(next);
      setError(undefined);
      onChange(v);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const toggle = (field: ListField, value: string) => {
    const cur = filter[field] ?? [];
    apply({ ...filter, [field]: cur.includes(value) ? cur.filter((v) => v !== value) : [...cur, value] });
  };
  const number = (field: "min_premium" | "min_score" | "dte_min" | "dte_max", raw: string) => {
    apply({ ...filter, [field]: raw.trim() === "" ? undefined : Number(raw) });
  };
  const preset = presetOf(filter) ?? "";

  return (
    <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="filters">
      <label className="watchlist">
        watchlist
        <input
          name="symbols"
          value={symbols}
          onChange={(e) => setSymbols(e.target.value)}
          onBlur={() => apply({ ...filter, symbols: parseSymbols(symbols) })}
          onKeyDown={(e) => {
            if (e.key === "Enter") apply({ ...filter, symbols: parseSymbols(symbols) });
          }}
          title="underlyings, separated by commas or spaces; * for the whole feed (needs a credential that grants it)"
        />
      </label>
      <label>
        preset
        <select
          name="preset"
          value={preset}
          onChange={(e) => {
            const p = PRESETS.find((x) => x.name === e.target.value);
            if (p) apply(applyPreset(filter, p));
          }}
        >
          {preset === "" && <option value="">custom</option>}
          {PRESETS.map((p) => (
            <option key={p.name} value={p.name}>{p.name}</option>
          ))}
        </select>
      </label>
      {(Object.keys(LISTS) as ListField[]).map((field) => (
        <fieldset key={field} className="chips">
          <legend>{LABELS[field]}</legend>
          {LISTS[field].map((value) => (
            <button
              type="button"
              key={value}
              name={`${field}:${value}`}
              aria-pressed={filter[field]?.includes(value) ?? false}
              onClick={() => toggle(field, value)}
            >
              {value}
            </button>
          ))}
        </fieldset>
      ))}
      <NumberField label="min premium" name="min_premium" value={filter.min_premium} hint={money}
        onCommit={(raw) => number("min_premium", raw)} />
      <NumberField label="min score" name="min_score" value={filter.min_score} onCommit={(raw) => number("min_score", raw)} />
      <NumberField label="DTE from" name="dte_min" value={filter.dte_min} onCommit={(raw) => number("dte_min", raw)} />
      <NumberField label="to" name="dte_max" value={filter.dte_max} onCommit={(raw) => number("dte_max", raw)} />
      {error && <div className="filter-error" role="alert">{error}</div>}
    </form>
  );
});

interface NumberProps {
  label: string;
  name: string;
  value: number | undefined;
  hint?: (v: number) => string;
  onCommit(raw: string): void;
}

function NumberField({ label, name, value, hint, onCommit }: NumberProps) {
  const [text, setText] = useState(value === undefined ? "" : String(value));
  useEffect(() => setText(value === undefined ? "" : String(value)), [value]);
  return (
    <label className="number">
      {label}
      <input
        name={name}
        inputMode="numeric"
        value={text}
        size={8}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => onCommit(text)}
        onKeyDown={(e) => {
          if (e.key === "Enter") onCommit(text);
        }}
      />
      {hint && value ? <small>{hint(value)}</small> : null}
    </label>
  );
}

// Alert rules: made from the current filter or a preset, each a subscription
// of its own, raising desktop notifications and an optional sound.

import { memo, useState } from "react";
import { type AlertHit, type AlertRule, MAX_RULES, describe } from "../alerts";
import { applyPreset, type Filter, PRESETS } from "../filter";
import { askForNotifications, notificationsAllowed } from "../notifier";
import { clock } from "./format";

interface Props {
  rules: AlertRule[];
  log: AlertHit[];
  /** Notifications raised so far: the log changed when it changes. */
  fired: number;
  filter: Filter;
  onChange(rules: AlertRule[]): void;
}

let nextId = Date.now();

export const Alerts = memo(function Alerts({ rules, log, filter, onChange }: Props) {
  const [name, setName] = useState("");
  const [allowed, setAllowed] = useState(notificationsAllowed);
  const add = (ruleName: string, f: Filter) => {
    if (rules.length >= MAX_RULES) return;
    onChange([...rules, { id: String(nextId++), name: ruleName, filter: f, sound: false, enabled: true }]);
  };
  const update = (id: string, patch: Partial<AlertRule>) =>
    onChange(rules.map((r) => (r.id === id ? { ...r, ...patch } : r)));
  return (
    <section className="alerts" data-testid="alerts">
      <h2>alerts</h2>
      {!allowed && (
        <button onClick={async () => setAllowed(await askForNotifications())}>allow desktop notifications</button>
      )}
      <ul className="rules">
        {rules.map((r) => (
          <li key={r.id}>
            <label><input type="checkbox" checked={r.enabled} onChange={(e) => update(r.id, { enabled: e.target.checked })} /> {r.name}</label>
            <label title="play a sound"><input type="checkbox" checked={r.sound} onChange={(e) => update(r.id, { sound: e.target.checked })} /> ♪</label>
            <button onClick={() => onChange(rules.filter((x) => x.id !== r.id))} aria-label={`delete ${r.name}`}>×</button>
            <div className="rule-filter">{r.filter.symbols.join(",")} {conditions(r.filter)}</div>
          </li>
        ))}
      </ul>
      {rules.length < MAX_RULES && (
        <div className="add-rule">
          <input placeholder="rule name" value={name} onChange={(e) => setName(e.target.value)} />
          <button onClick={() => { add(name || "my filter", filter); setName(""); }}>alert on this filter</button>
          <select value="" onChange={(e) => {
            const p = PRESETS.find((x) => x.name === e.target.value);
            if (p) add(p.name, applyPreset(filter, p));
          }}>
            <option value="">+ preset…</option>
            {PRESETS.slice(1).map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
          </select>
        </div>
      )}
      <ol className="alert-log">
        {log.map((h, i) => (
          <li key={`${h.at}-${i}`}>
            <b>{h.rule.name}</b> {clock(h.at * 1e6)} {describe(h.event)}
            {h.more > 0 && <em> +{h.more} more</em>}
          </li>
        ))}
      </ol>
    </section>
  );
});

function conditions(f: Filter): string {
  const { symbols: _s, ...rest } = f;
  return Object.entries(rest).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`).join(" ");
}

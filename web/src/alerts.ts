// Alert rules: a name, conditions in the filter language, and whether to
// play a sound. Matching events raise a notification, at most one per rule
// every few seconds; those held back are counted into the next one.

import { type Filter, matches, validate } from "./filter";
import type { KeyValueStore } from "./persist";
import type { FlowEvent } from "./types";

export interface AlertRule {
  id: string;
  name: string;
  filter: Filter;
  sound: boolean;
  enabled: boolean;
}

export interface AlertHit {
  rule: AlertRule;
  event: FlowEvent;
  /** Matches held back since the previous notification of the rule. */
  more: number;
  at: number;
}

/** At most this many rules, each one subscription on the edge. */
export const MAX_RULES = 10;

export class AlertEngine {
  private rules: AlertRule[] = [];
  private last = new Map<string, number>();
  private held = new Map<string, { count: number; event: FlowEvent }>();
  /** The latest notifications, newest first. */
  log: AlertHit[] = [];
  /** Notifications raised since the start. */
  fired = 0;

  constructor(
    private readonly notify: (hit: AlertHit) => void,
    private readonly now: () => number = Date.now,
    private readonly minIntervalMs = 3000,
    private readonly logSize = 50,
  ) {}

  setRules(rules: AlertRule[]): void {
    this.rules = rules.filter((r) => r.enabled);
  }

  /** check raises the alerts ev triggers. Cancels never do. */
  check(ev: FlowEvent): void {
    if (ev.kind === "cancel") return;
    for (const rule of this.rules) {
      if (!matches(rule.filter, ev)) continue;
      const now = this.now();
      if (now - (this.last.get(rule.id) ?? -Infinity) < this.minIntervalMs) {
        const h = this.held.get(rule.id);
        this.held.set(rule.id, { count: (h?.count ?? 0) + 1, event: ev });
        continue;
      }
      this.fire(rule, ev, this.takeHeld(rule.id), now);
    }
  }

  /** flush raises, for each rule quiet long enough, the matches it held back. */
  flush(): void {
    const now = this.now();
    for (const rule of this.rules) {
      const h = this.held.get(rule.id);
      if (!h || now - (this.last.get(rule.id) ?? -Infinity) < this.minIntervalMs) continue;
      this.held.delete(rule.id);
      this.fire(rule, h.event, h.count - 1, now);
    }
  }

  private takeHeld(id: string): number {
    const n = this.held.get(id)?.count ?? 0;
    this.held.delete(id);
    return n;
  }

  private fire(rule: AlertRule, event: FlowEvent, more: number, at: number): void {
    this.last.set(rule.id, at);
    this.fired++;
    const hit = { rule, event, more, at };
    this.log.unshift(hit);
    if (this.log.length > this.logSize) this.log.length = this.logSize;
    this.notify(hit);
  }
}

/** describe says what an event is in one line, for notifications. */
export function describe(ev: FlowEvent): string {
  const premium =
    ev.premium >= 1e6 ? `$${(ev.premium / 1e6).toFixed(2)}M` : `$${Math.round(ev.premium / 1e3)}K`;
  const flags = ev.flags.length ? ` (${ev.flags.join(", ")})` : "";
  return `${ev.underlying} ${ev.expiry} ${ev.strike}${ev.right} ${ev.kind} ${ev.size} @ ${ev.price.toFixed(2)} ${premium} ${ev.side || "?"} ${ev.sentiment}${flags}`;
}

const RULES_KEY = "liveflow.alerts.v1";

/** loadRules returns the stored rules that still validate. */
export function loadRules(store: KeyValueStore): AlertRule[] {
  try {
    const raw = JSON.parse(store.getItem(RULES_KEY) ?? "[]") as AlertRule[];
    const out: AlertRule[] = [];
    for (const r of raw.slice(0, MAX_RULES)) {
      try {
        out.push({ ...r, filter: validate(r.filter) });
      } catch {
        // A rule the language no longer accepts is dropped.
      }
    }
    return out;
  } catch {
    return [];
  }
}

export function saveRules(store: KeyValueStore, rules: AlertRule[]): void {
  try {
    store.setItem(RULES_KEY, JSON.stringify(rules));
  } catch {
    // Rules then last for this visit only.
  }
}

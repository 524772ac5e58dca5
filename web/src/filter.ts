// The filter language of the edge (pkg/filter on the server): the JSON shape a
// subscription carries, its validation with the server's rules and messages,
// and matching, so the screen and alert rules agree with what the server
// delivers. The server stays the authority: it filters before sending, and
// the page matches again only to tell the events of several subscriptions
// apart.

import type { FlowEvent } from "./types";

/** A subscription's filter, as the server takes it. */
export interface Filter {
  symbols: string[];
  kinds?: string[];
  min_premium?: number;
  min_score?: number;
  sides?: string[];
  sentiments?: string[];
  rights?: string[];
  dte_min?: number;
  dte_max?: number;
  flags?: string[];
}

export const KINDS = ["trade", "block", "sweep", "split", "repeated", "spread", "cancel"];
export const SIDES = ["AA", "A", "M", "B", "BB"];
export const SENTIMENTS = ["bullish", "bearish", "neutral"];
export const RIGHTS = ["C", "P"];
export const FLAGS = ["golden", "unusual", "iso", "late", "floor", "extended", "multileg"];
export const MAX_SYMBOLS = 1000;

/** The list fields of a filter and the values each may hold. */
export const LISTS = {
  kinds: KINDS,
  sides: SIDES,
  sentiments: SENTIMENTS,
  rights: RIGHTS,
  flags: FLAGS,
} as const;
export type ListField = keyof typeof LISTS;

/** The watchlist a first visit starts with: the busiest underlyings. */
export const DEFAULT_SYMBOLS = ["SPY", "QQQ", "TSLA", "NVDA", "AAPL", "AMZN", "META", "AMD", "IWM", "MSFT"];

/** root upper-cases an underlying, or returns undefined when s is not one. */
export function root(s: string): string | undefined {
  return /^[A-Za-z0-9]{1,6}$/.test(s) ? s.toUpperCase() : undefined;
}

/**
 * normalizeSymbols checks a watchlist as the server does: 1 to 1000
 * underlyings of 1 to 6 letters or digits, upper-cased, duplicates dropped,
 * or "*" alone for the whole feed. It throws an Error naming the problem.
 */
export function normalizeSymbols(list: string[]): string[] {
  if (list.length === 0) throw new Error("filter.symbols is empty");
  if (list.length > MAX_SYMBOLS) {
    throw new Error(`filter.symbols has ${list.length} entries, at most ${MAX_SYMBOLS} allowed`);
  }
  const out: string[] = [];
  for (const s of list) {
    if (s === "*") {
      if (list.length > 1) {
        throw new Error("the whole feed (*) is a subscription of its own; do not list underlyings with it");
      }
      return ["*"];
    }
    const u = root(s);
    if (u === undefined) throw new Error(`symbol "${s}" is not an underlying (1 to 6 letters or digits)`);
    if (!out.includes(u)) out.push(u);
  }
  return out;
}

/** parseSymbols splits what a person typed into a watchlist: commas or spaces. */
export function parseSymbols(text: string): string[] {
  return text.split(/[\s,]+/).filter((s) => s !== "");
}

/**
 * validate returns the filter normalized as the server would hold it, or
 * throws an Error with the server's wording for the first problem. Empty lists
 * and zero minimums are dropped, so equal filters compare equal.
 */
export function validate(f: Filter): Filter {
  const out: Filter = { symbols: normalizeSymbols(f.symbols ?? []) };
  for (const field of Object.keys(LISTS) as ListField[]) {
    const values = f[field];
    if (!values || values.length === 0) continue;
    for (const v of values) {
      if (!(LISTS[field] as readonly string[]).includes(v)) {
        throw new Error(`filter.${field}: "${v}" is not one of ${LISTS[field].join(", ")}`);
      }
    }
    // Keep the canonical order, so that the URL and storage are stable.
    out[field] = LISTS[field].filter((v) => values.includes(v));
  }
  const p = f.min_premium;
  if (p !== undefined && !(Number.isFinite(p) && p >= 0)) {
    throw new Error(`filter.min_premium ${p}: want a finite number, 0 or more`);
  }
  if (p) out.min_premium = p;
  const s = f.min_score;
  if (s !== undefined && !(Number.isInteger(s) && s >= 0 && s <= 100)) {
    throw new Error(`filter.min_score ${s}: want 0 to 100`);
  }
  if (s) out.min_score = s;
  for (const field of ["dte_min", "dte_max"] as const) {
    const d = f[field];
    if (d === undefined) continue;
    if (!Number.isInteger(d)) throw new Error(`filter.${field} ${d}: want a whole number of days`);
    if (d < 0) throw new Error(`filter.${field} ${d} is negative`);
    out[field] = d;
  }
  if (out.dte_min !== undefined && out.dte_max !== undefined && out.dte_min > out.dte_max) {
    throw new Error(`filter.dte_min ${out.dte_min} is above dte_max ${out.dte_max}`);
  }
  return out;
}

/** isFirehose reports whether the filter names every underlying. */
export function isFirehose(f: Filter): boolean {
  return f.symbols.length === 1 && f.symbols[0] === "*";
}

/**
 * matches reports whether the server would deliver ev for f: every condition
 * that is set must hold; lists match any of their values, except flags,
 * which must all be present. A cancel passes every condition but symbols,
 * so whoever may hold the print it retracts learns of it.
 */
export function matches(f: Filter, ev: FlowEvent): boolean {
  if (!isFirehose(f) && !f.symbols.includes(ev.underlying)) return false;
  if (ev.kind === "cancel") return true;
  if (f.kinds?.length && !f.kinds.includes(ev.kind)) return false;
  if (ev.premium < (f.min_premium ?? 0)) return false;
  if (ev.score < (f.min_score ?? 0)) return false;
  if (f.sides?.length && !f.sides.includes(ev.side)) return false;
  if (f.sentiments?.length && !f.sentiments.includes(ev.sentiment)) return false;
  if (f.rights?.length && !f.rights.includes(ev.right)) return false;
  if (f.dte_min !== undefined && ev.dte < f.dte_min) return false;
  if (f.dte_max !== undefined && ev.dte > f.dte_max) return false;
  for (const flag of f.flags ?? []) {
    if (!ev.flags.includes(flag)) return false;
  }
  return true;
}

/** sameFilter reports whether two validated filters are equal. */
export function sameFilter(a: Filter, b: Filter): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A named set of conditions; applying one keeps the watchlist. */
export interface Preset {
  name: string;
  conditions: Omit<Filter, "symbols">;
}

export const PRESETS: Preset[] = [
  { name: "all flow", conditions: {} },
  { name: "golden sweeps", conditions: { kinds: ["sweep"], flags: ["golden"] } },
  {
    name: "big bearish puts",
    conditions: { rights: ["P"], sentiments: ["bearish"], min_premium: 500_000 },
  },
  {
    name: "big bullish calls",
    conditions: { rights: ["C"], sentiments: ["bullish"], min_premium: 500_000 },
  },
  { name: "blocks", conditions: { kinds: ["block"] } },
  { name: "unusual this week", conditions: { flags: ["unusual"], dte_max: 7 } },
  { name: "aggressive buys", conditions: { sides: ["AA", "A"], min_score: 50 } },
];

/** applyPreset returns f's watchlist under the preset's conditions. */
export function applyPreset(f: Filter, p: Preset): Filter {
  return validate({ symbols: f.symbols, ...p.conditions });
}

/** presetOf names the preset whose conditions f has, if any. */
export function presetOf(f: Filter): string | undefined {
  return PRESETS.find((p) => sameFilter(applyPreset(f, p), f))?.name;
}

// Keeping the screen across reloads: the filter lives in the URL (so a view
// can be shared or bookmarked) and in local storage (so a plain visit comes
// back to the last view).

import { DEFAULT_SYMBOLS, LISTS, type Filter, type ListField, parseSymbols, validate } from "./filter";

/** The part of Storage this module uses; window.localStorage in the page. */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const FILTER_KEY = "liveflow.filter.v1";
const NUMBERS = ["min_premium", "min_score", "dte_min", "dte_max"] as const;

/** toQuery writes a validated filter as URL parameters, lists comma-separated. */
export function toQuery(f: Filter): URLSearchParams {
  const q = new URLSearchParams();
  q.set("symbols", f.symbols.join(","));
  for (const field of Object.keys(LISTS) as ListField[]) {
    const v = f[field];
    if (v?.length) q.set(field, v.join(","));
  }
  for (const field of NUMBERS) {
    const v = f[field];
    if (v !== undefined) q.set(field, String(v));
  }
  return q;
}

/** The filter conditions the URL parameters name, if any. */
export function hasFilterParams(q: URLSearchParams): boolean {
  return ["symbols", ...Object.keys(LISTS), ...NUMBERS].some((k) => q.has(k));
}

/**
 * fromQuery reads a filter from URL parameters. A parameter the server would
 * refuse is dropped and named in problems, so a mistyped link still opens a
 * working screen and says what it ignored.
 */
export function fromQuery(q: URLSearchParams): { filter: Filter; problems: string[] } {
  const problems: string[] = [];
  let symbols = parseSymbols(q.get("symbols") ?? "");
  try {
    symbols = validate({ symbols }).symbols;
  } catch (e) {
    if (symbols.length > 0) problems.push(`symbols: ${(e as Error).message}`);
    symbols = DEFAULT_SYMBOLS;
  }
  let f: Filter = { symbols };
  const candidates: Partial<Filter>[] = [];
  for (const field of Object.keys(LISTS) as ListField[]) {
    const raw = q.get(field);
    if (raw) candidates.push({ [field]: raw.split(",").filter((s) => s !== "") });
  }
  for (const field of NUMBERS) {
    const raw = q.get(field);
    if (raw !== null && raw !== "") candidates.push({ [field]: Number(raw) });
  }
  // Each condition is tried on its own, so one bad parameter costs only itself.
  for (const c of candidates) {
    try {
      f = validate({ ...f, ...c });
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return { filter: f, problems };
}

/** saveFilter keeps f in storage; storage errors (quota, privacy mode) are ignored. */
export function saveFilter(store: KeyValueStore, f: Filter): void {
  try {
    store.setItem(FILTER_KEY, JSON.stringify(f));
  } catch {
    // The URL still carries the filter.
  }
}

/** loadFilter returns the stored filter, or undefined when none is stored or it no longer validates. */
export function loadFilter(store: KeyValueStore): Filter | undefined {
  try {
    const raw = store.getItem(FILTER_KEY);
    return raw ? validate(JSON.parse(raw) as Filter) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * restoreFilter picks the filter a page load starts with: the URL's when it
 * names any condition, else the stored one, else the default watchlist.
 */
export function restoreFilter(
  q: URLSearchParams,
  store: KeyValueStore,
): { filter: Filter; problems: string[] } {
  if (hasFilterParams(q)) return fromQuery(q);
  return { filter: loadFilter(store) ?? { symbols: DEFAULT_SYMBOLS }, problems: [] };
}

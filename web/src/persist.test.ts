import { describe, expect, it } from "vitest";
import { DEFAULT_SYMBOLS, validate } from "./filter";
import { fromQuery, type KeyValueStore, loadFilter, restoreFilter, saveFilter, toQuery } from "./persist";

class MemoryStore implements KeyValueStore {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

describe("URL", () => {
  it("round-trips every condition", () => {
    const f = validate({
      symbols: ["SPY", "QQQ"], kinds: ["sweep"], min_premium: 250000, min_score: 40, sides: ["AA", "A"],
      sentiments: ["bearish"], rights: ["P"], dte_min: 0, dte_max: 7, flags: ["golden"],
    });
    const q = toQuery(f);
    expect(q.toString()).toBe(
      "symbols=SPY%2CQQQ&kinds=sweep&sides=AA%2CA&sentiments=bearish&rights=P&flags=golden" +
        "&min_premium=250000&min_score=40&dte_min=0&dte_max=7",
    );
    expect(fromQuery(new URLSearchParams(q.toString()))).toEqual({ filter: f, problems: [] });
  });

  it("drops what the server would refuse and says so", () => {
    const { filter, problems } = fromQuery(new URLSearchParams("symbols=spy&kinds=sweep,bogus&min_score=500&dte_max=3"));
    expect(filter).toEqual({ symbols: ["SPY"], dte_max: 3 });
    expect(problems).toEqual([
      'filter.kinds: "bogus" is not one of trade, block, sweep, split, repeated, spread, cancel',
      "filter.min_score 500: want 0 to 100",
    ]);
  });

  it("falls back to the default watchlist for bad symbols", () => {
    const { filter, problems } = fromQuery(new URLSearchParams("symbols=WAYTOOLONG&rights=C"));
    expect(filter).toEqual({ symbols: DEFAULT_SYMBOLS, rights: ["C"] });
    expect(problems[0]).toContain("WAYTOOLONG");
  });
});

describe("storage", () => {
  it("restores the URL's filter first, then the stored one, then the default", () => {
    const store = new MemoryStore();
    expect(restoreFilter(new URLSearchParams(""), store).filter).toEqual({ symbols: DEFAULT_SYMBOLS });
    const stored = validate({ symbols: ["TSLA"], kinds: ["block"] });
    saveFilter(store, stored);
    expect(loadFilter(store)).toEqual(stored);
    expect(restoreFilter(new URLSearchParams(""), store).filter).toEqual(stored);
    expect(restoreFilter(new URLSearchParams("symbols=AAPL"), store).filter).toEqual({ symbols: ["AAPL"] });
  });

  it("ignores a stored filter that no longer validates or cannot be read", () => {
    const store = new MemoryStore();
    store.setItem("liveflow.filter.v1", JSON.stringify({ symbols: ["SPY"], kinds: ["gone"] }));
    expect(loadFilter(store)).toBeUndefined();
    store.setItem("liveflow.filter.v1", "{not json");
    expect(loadFilter(store)).toBeUndefined();
  });

  it("survives a store that throws", () => {
    const broken: KeyValueStore = {
      getItem: () => { throw new Error("denied"); },
      setItem: () => { throw new Error("quota"); },
      removeItem: () => {},
    };
    expect(() => saveFilter(broken, { symbols: ["SPY"] })).not.toThrow();
    expect(loadFilter(broken)).toBeUndefined();
  });
});

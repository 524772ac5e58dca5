import { describe, expect, it } from "vitest";
import { applyPreset, matches, normalizeSymbols, PRESETS, presetOf, validate } from "./filter";
import { event } from "./testdata";

describe("validate", () => {
  it("normalizes symbols as the server does", () => {
    expect(normalizeSymbols(["spy", "SPY", "brk1"])).toEqual(["SPY", "BRK1"]);
    expect(normalizeSymbols(["*"])).toEqual(["*"]);
  });

  it.each([
    [{ symbols: [] }, "filter.symbols is empty"],
    [{ symbols: ["TOOLONG"] }, 'symbol "TOOLONG" is not an underlying'],
    [{ symbols: ["*", "SPY"] }, "the whole feed (*) is a subscription of its own"],
    [{ symbols: ["SPY"], kinds: ["sweeep"] }, 'filter.kinds: "sweeep" is not one of'],
    [{ symbols: ["SPY"], min_premium: -1 }, "filter.min_premium -1"],
    [{ symbols: ["SPY"], min_premium: NaN }, "filter.min_premium NaN"],
    [{ symbols: ["SPY"], min_score: 101 }, "filter.min_score 101: want 0 to 100"],
    [{ symbols: ["SPY"], dte_min: -2 }, "filter.dte_min -2 is negative"],
    [{ symbols: ["SPY"], dte_min: 9, dte_max: 3 }, "filter.dte_min 9 is above dte_max 3"],
  ])("refuses %j", (f, msg) => {
    expect(() => validate(f)).toThrow(msg);
  });

  it("drops empty conditions and orders lists canonically", () => {
    expect(validate({ symbols: ["qqq"], kinds: ["sweep", "block"], sides: [], min_premium: 0 })).toEqual({
      symbols: ["QQQ"],
      kinds: ["block", "sweep"],
    });
  });
});

describe("matches", () => {
  const f = validate({
    symbols: ["SPY"], kinds: ["sweep"], min_premium: 100_000, rights: ["P"], sentiments: ["bearish"],
    dte_min: 1, dte_max: 7, flags: ["golden", "iso"], sides: ["A", "AA"], min_score: 50,
  });
  const hit = event({
    kind: "sweep", premium: 150_000, right: "P", sentiment: "bearish", dte: 3,
    flags: ["golden", "iso", "unusual"], side: "AA", score: 60,
  });

  it("takes an event that meets every condition", () => {
    expect(matches(f, hit)).toBe(true);
  });

  it.each([
    ["another underlying", { underlying: "QQQ" }],
    ["another kind", { kind: "block" }],
    ["less premium", { premium: 99_999 }],
    ["a lower score", { score: 49 }],
    ["another side", { side: "B" }],
    ["another sentiment", { sentiment: "bullish" }],
    ["a call", { right: "C" }],
    ["too few days", { dte: 0 }],
    ["too many days", { dte: 8 }],
    ["a missing flag", { flags: ["golden"] }],
  ])("refuses %s", (_, over) => {
    expect(matches(f, { ...hit, ...over })).toBe(false);
  });

  it("lets a cancel through every condition but symbols", () => {
    const cancel = event({ kind: "cancel", premium: 0, right: "C", cancels: ["0.1.0"] });
    expect(matches(f, cancel)).toBe(true);
    expect(matches(f, { ...cancel, underlying: "QQQ" })).toBe(false);
  });

  it("matches every underlying for the whole feed", () => {
    expect(matches({ symbols: ["*"] }, event({ underlying: "ZZZZ" }))).toBe(true);
  });
});

describe("presets", () => {
  it("keep the watchlist and are recognised again", () => {
    const base = validate({ symbols: ["SPY", "QQQ"], min_score: 10 });
    const golden = applyPreset(base, PRESETS.find((p) => p.name === "golden sweeps")!);
    expect(golden).toEqual({ symbols: ["SPY", "QQQ"], kinds: ["sweep"], flags: ["golden"] });
    expect(presetOf(golden)).toBe("golden sweeps");
    const bearish = applyPreset(base, PRESETS.find((p) => p.name === "big bearish puts")!);
    expect(bearish).toEqual({ symbols: ["SPY", "QQQ"], rights: ["P"], sentiments: ["bearish"], min_premium: 500_000 });
    expect(presetOf(base)).toBeUndefined();
  });

  it("are all filters the server accepts", () => {
    for (const p of PRESETS) expect(() => applyPreset({ symbols: ["SPY"] }, p)).not.toThrow();
  });
});

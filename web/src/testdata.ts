// Events for the unit tests.

import type { FlowEvent } from "./types";

let n = 0;

/** event returns a plausible event; over sets fields. ids count up in shard 1. */
export function event(over: Partial<FlowEvent> = {}): FlowEvent {
  n++;
  return {
    id: `1-${1_700_000_000_000 + n}-0`,
    key: `0.${n}.0`,
    kind: "trade",
    ts: (1_700_000_000_000 + n) * 1e6,
    ingest_ts: (1_700_000_000_000 + n) * 1e6,
    scored_ts: (1_700_000_000_000 + n) * 1e6,
    underlying: "SPY",
    symbol: "SPY   261218C00450000",
    expiry: "2026-12-18",
    dte: 15,
    strike: 450,
    right: "C",
    side: "A",
    sentiment: "bullish",
    price: 2.5,
    size: 100,
    premium: 25_000,
    bid: 2.4,
    ask: 2.5,
    spot: 445,
    otm_pct: 1.1,
    volume: 1000,
    open_interest: 500,
    exchange: "CBOE",
    exchanges: 1,
    conditions: [],
    flags: [],
    fills: [],
    cancels: [],
    score: 40,
    components: { premium: 10, aggression: 10, volume_oi: 10, dte: 5, moneyness: 5, kind: 0, unusual: 0 },
    reasons: [],
    ...over,
  };
}

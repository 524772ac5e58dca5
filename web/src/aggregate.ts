// The at-a-glance views: premium by ticker split by sentiment, call and put
// premium over time, and one ticker's drill-down. Totals are kept as events
// arrive (constant work per event) and taken back when a print is cancelled.

import type { Row } from "./history";
import type { FlowEvent } from "./types";

export interface TickerTotals {
  ticker: string;
  bullish: number;
  bearish: number;
  neutral: number;
  calls: number;
  puts: number;
  count: number;
}

export interface Series {
  /** Start of each bucket, Unix milliseconds, oldest first. */
  times: number[];
  calls: number[];
  puts: number[];
}

interface Contribution {
  ticker: string;
  sentiment: string;
  right: string;
  premium: number;
  bucket: number;
}

export interface AggregateOptions {
  bucketMs?: number; // width of one bucket of the time series; 10 s
  buckets?: number; // buckets kept; 90 (15 minutes)
  remember?: number; // events remembered to take back on cancel; 50,000
}

/**
 * Aggregates sums premium per ticker and per time bucket. Cancels and
 * aggregates' own events are not counted; a cancel takes back the premium of
 * each print it retracts, when that print was counted.
 */
export class Aggregates {
  private tickers = new Map<string, TickerTotals>();
  private buckets = new Map<number, { calls: number; puts: number }>();
  private contributions = new Map<string, Contribution>();
  private newestBucket = -Infinity;
  private readonly bucketMs: number;
  private readonly maxBuckets: number;
  private readonly remember: number;
  /** Bumped by every change. */
  version = 0;

  constructor(o: AggregateOptions = {}) {
    this.bucketMs = o.bucketMs ?? 10_000;
    this.maxBuckets = o.buckets ?? 90;
    this.remember = o.remember ?? 50_000;
  }

  add(ev: FlowEvent): void {
    this.version++;
    if (ev.kind === "cancel") {
      for (const key of ev.cancels) {
        const c = this.contributions.get(key);
        if (c) {
          this.apply(c, -1);
          this.contributions.delete(key);
        }
      }
      return;
    }
    if (this.contributions.has(ev.key)) return;
    const c: Contribution = {
      ticker: ev.underlying,
      sentiment: ev.sentiment,
      right: ev.right,
      premium: ev.premium,
      bucket: Math.floor(ev.ts / 1e6 / this.bucketMs),
    };
    this.apply(c, 1);
    this.contributions.set(ev.key, c);
    if (this.contributions.size > this.remember) {
      const oldest = this.contributions.keys().next().value;
      if (oldest !== undefined) this.contributions.delete(oldest);
    }
  }

  private apply(c: Contribution, sign: 1 | -1): void {
    let t = this.tickers.get(c.ticker);
    if (!t) {
      t = { ticker: c.ticker, bullish: 0, bearish: 0, neutral: 0, calls: 0, puts: 0, count: 0 };
      this.tickers.set(c.ticker, t);
    }
    const p = sign * c.premium;
    if (c.sentiment === "bullish") t.bullish += p;
    else if (c.sentiment === "bearish") t.bearish += p;
    else t.neutral += p;
    if (c.right === "C") t.calls += p;
    else t.puts += p;
    t.count += sign;

    if (c.bucket <= this.newestBucket - this.maxBuckets) return; // older than the series
    let b = this.buckets.get(c.bucket);
    if (!b) {
      b = { calls: 0, puts: 0 };
      this.buckets.set(c.bucket, b);
    }
    if (c.right === "C") b.calls += p;
    else b.puts += p;
    if (c.bucket > this.newestBucket) {
      this.newestBucket = c.bucket;
      for (const k of this.buckets.keys()) if (k <= c.bucket - this.maxBuckets) this.buckets.delete(k);
    }
  }

  /** top returns the n tickers with the most premium, largest first. */
  top(n: number): TickerTotals[] {
    return [...this.tickers.values()]
      .filter((t) => t.count > 0)
      .sort((a, b) => total(b) - total(a))
      .slice(0, n);
  }

  /** ticker returns one ticker's totals. */
  ticker(t: string): TickerTotals | undefined {
    return this.tickers.get(t);
  }

  /** series returns call and put premium per bucket up to the newest bucket, gaps as zero. */
  series(): Series {
    const out: Series = { times: [], calls: [], puts: [] };
    if (this.newestBucket === -Infinity) return out;
    const first = Math.max(this.newestBucket - this.maxBuckets + 1, Math.min(...this.buckets.keys()));
    for (let k = first; k <= this.newestBucket; k++) {
      const b = this.buckets.get(k);
      out.times.push(k * this.bucketMs);
      out.calls.push(b?.calls ?? 0);
      out.puts.push(b?.puts ?? 0);
    }
    return out;
  }

  clear(): void {
    this.tickers.clear();
    this.buckets.clear();
    this.contributions.clear();
    this.newestBucket = -Infinity;
    this.version++;
  }
}

/** total returns a ticker's premium, all sentiments. */
export function total(t: TickerTotals): number {
  return t.bullish + t.bearish + t.neutral;
}

export interface ContractTotals {
  symbol: string;
  expiry: string;
  strike: number;
  right: string;
  premium: number;
  count: number;
}

export interface Drilldown {
  ticker: string;
  calls: number;
  puts: number;
  bullish: number;
  bearish: number;
  neutral: number;
  count: number;
  contracts: ContractTotals[]; // by premium, largest first
  recent: Row[]; // newest first
}

/**
 * drilldown sums one ticker's rows of the tape (cancelled prints left out)
 * and lists its busiest contracts and latest prints.
 */
export function drilldown(ticker: string, rows: Iterable<Row>, topContracts = 8, recent = 25): Drilldown {
  const d: Drilldown = {
    ticker, calls: 0, puts: 0, bullish: 0, bearish: 0, neutral: 0, count: 0, contracts: [], recent: [],
  };
  const contracts = new Map<string, ContractTotals>();
  for (const r of rows) {
    const ev = r.ev;
    if (ev.underlying !== ticker) continue;
    if (d.recent.length < recent) d.recent.push(r);
    if (r.cancelled || ev.kind === "cancel") continue;
    d.count++;
    if (ev.right === "C") d.calls += ev.premium;
    else d.puts += ev.premium;
    if (ev.sentiment === "bullish") d.bullish += ev.premium;
    else if (ev.sentiment === "bearish") d.bearish += ev.premium;
    else d.neutral += ev.premium;
    let c = contracts.get(ev.symbol);
    if (!c) {
      c = { symbol: ev.symbol, expiry: ev.expiry, strike: ev.strike, right: ev.right, premium: 0, count: 0 };
      contracts.set(ev.symbol, c);
    }
    c.premium += ev.premium;
    c.count++;
  }
  d.contracts = [...contracts.values()].sort((a, b) => b.premium - a.premium).slice(0, topContracts);
  return d;
}

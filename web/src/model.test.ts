import { describe, expect, it } from "vitest";
import { Aggregates, drilldown } from "./aggregate";
import { AlertEngine, type AlertHit, loadRules, saveRules } from "./alerts";
import { Backoff } from "./backoff";
import { parseId, ResumePoints, Seen } from "./eventid";
import { FeedModel } from "./feed";
import { validate } from "./filter";
import { History } from "./history";
import { LatencyWindow } from "./latency";
import { PauseBuffer } from "./pause";
import { event } from "./testdata";

const keys = (h: History) => [...h.rows()].map((r) => r.ev.key);

describe("ids", () => {
  it("parse and order within a shard", () => {
    expect(parseId("11-1796308200031-2")).toEqual({ shard: 11, ms: 1796308200031, seq: 2 });
    expect(parseId("nope")).toBeUndefined();
    const r = new ResumePoints();
    for (const id of ["3-10-1", "3-9-5", "0-7-0", "3-10-0", "bad"]) r.advance(id);
    expect(r.list()).toEqual(["0-7-0", "3-10-1"]);
  });

  it("Seen forgets the oldest ids beyond its capacity", () => {
    const s = new Seen(3);
    expect(["a", "b", "c", "a"].map((id) => s.add(id))).toEqual([true, true, true, false]);
    s.add("d");
    expect(s.has("a")).toBe(false);
    expect(s.has("d")).toBe(true);
    expect(s.size).toBe(3);
    for (let i = 0; i < 20; i++) s.add(`x${i}`);
    expect(s.size).toBe(3);
    expect(s.has("x19")).toBe(true);
  });

  it("Backoff grows to its cap with jitter", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 800, random: () => 0.999 });
    expect([1, 2, 3, 4, 5].map(() => b.next())).toEqual([100, 200, 400, 800, 800]);
    b.reset();
    expect(new Backoff({ initialMs: 100, random: () => 0 }).next()).toBe(50);
  });
});

describe("History", () => {
  it("keeps the newest rows up to its capacity, newest first", () => {
    const h = new History(3);
    const evs = [event(), event(), event(), event()];
    h.push(evs);
    expect(h.size).toBe(3);
    expect(keys(h)).toEqual([evs[3].key, evs[2].key, evs[1].key]);
    expect(h.has(evs[0].key)).toBe(false);
    expect(h.added).toBe(4);
    h.push([evs[3]]);
    expect(h.size).toBe(3); // a repeat is not added
  });

  it("strikes out cancelled prints, also when the cancel comes first", () => {
    const h = new History(10);
    const a = event();
    const b = event();
    h.push([a]);
    h.push([event({ kind: "cancel", cancels: [a.key, b.key] })]);
    expect(h.at(1)!.cancelled).toBe(true);
    h.push([b]);
    expect(h.at(0)!.cancelled).toBe(true);
  });

  it("merges the past in time order", () => {
    const h = new History(10);
    const [a, b, c, d] = [event(), event(), event(), event()];
    h.push([a, d]);
    h.merge([c, b, a]);
    expect(keys(h)).toEqual([d.key, c.key, b.key, a.key]);
  });

  it("resizes keeping the newest", () => {
    const h = new History(5);
    const evs = [event(), event(), event()];
    h.push(evs);
    h.resize(2);
    expect(keys(h)).toEqual([evs[2].key, evs[1].key]);
    h.push([event()]);
    expect(h.size).toBe(2);
  });
});

describe("PauseBuffer", () => {
  it("counts every arrival and keeps the newest up to its bound", () => {
    const p = new PauseBuffer(2);
    p.paused = true;
    const evs = [event(), event(), event()];
    evs.forEach((e) => p.push(e));
    expect([p.arrived, p.held, p.dropped]).toEqual([3, 2, 1]);
    expect(p.resume()).toEqual(evs.slice(1));
    expect([p.paused, p.arrived, p.held]).toEqual([false, 0, 0]);
  });
});

describe("Aggregates", () => {
  it("sums premium by ticker and sentiment, and takes back cancelled prints", () => {
    const a = new Aggregates({ bucketMs: 1000 });
    const big = event({ underlying: "TSLA", premium: 2e6, sentiment: "bearish", right: "P" });
    a.add(event({ underlying: "SPY", premium: 1e5, sentiment: "bullish" }));
    a.add(event({ underlying: "SPY", premium: 5e4, sentiment: "neutral" }));
    a.add(big);
    a.add(big); // a repeat counts once
    expect(a.top(5).map((t) => [t.ticker, t.bullish, t.bearish, t.neutral, t.count])).toEqual([
      ["TSLA", 0, 2e6, 0, 1],
      ["SPY", 1e5, 0, 5e4, 2],
    ]);
    a.add(event({ kind: "cancel", underlying: "TSLA", cancels: [big.key] }));
    expect(a.top(5).map((t) => t.ticker)).toEqual(["SPY"]);
  });

  it("buckets call and put premium over time, filling gaps and dropping the oldest", () => {
    const a = new Aggregates({ bucketMs: 1000, buckets: 3 });
    const at = (s: number) => s * 1e9;
    a.add(event({ ts: at(10.2), right: "C", premium: 1 }));
    a.add(event({ ts: at(10.9), right: "P", premium: 2 }));
    a.add(event({ ts: at(12.5), right: "C", premium: 4 }));
    expect(a.series()).toEqual({ times: [10_000, 11_000, 12_000], calls: [1, 0, 4], puts: [2, 0, 0] });
    a.add(event({ ts: at(14), right: "P", premium: 8 }));
    expect(a.series()).toEqual({ times: [12_000, 13_000, 14_000], calls: [4, 0, 0], puts: [0, 0, 8] });
    a.add(event({ ts: at(5), right: "P", premium: 16 })); // before the series: ticker totals only
    expect(a.series().puts).toEqual([0, 0, 8]);
  });

  it("drills down into one ticker from the tape", () => {
    const h = new History(10);
    const x = event({ underlying: "NVDA", symbol: "NVDA  261218C00900000", premium: 300, right: "C", sentiment: "bullish" });
    h.push([
      x,
      event({ underlying: "NVDA", symbol: "NVDA  261218P00800000", premium: 500, right: "P", sentiment: "bearish" }),
      event({ underlying: "NVDA", symbol: "NVDA  261218C00900000", premium: 200, right: "C", sentiment: "bullish" }),
      event({ underlying: "SPY", premium: 1e6 }),
      event({ underlying: "NVDA", symbol: "NVDA  261218C00900000", premium: 1e6, right: "C", sentiment: "bullish" }),
    ]);
    h.cancel([h.at(0)!.ev.key]);
    const d = drilldown("NVDA", h.rows());
    expect([d.count, d.calls, d.puts, d.bullish, d.bearish]).toEqual([3, 500, 500, 500, 500]);
    expect(d.contracts.map((c) => [c.symbol, c.premium, c.count])).toEqual([
      ["NVDA  261218C00900000", 500, 2],
      ["NVDA  261218P00800000", 500, 1],
    ]);
    expect(d.recent).toHaveLength(4);
    expect(d.recent[d.recent.length - 1].ev.key).toBe(x.key);
  });
});

describe("LatencyWindow", () => {
  it("summarises the last window", () => {
    const l = new LatencyWindow(1000);
    for (let i = 1; i <= 100; i++) l.record(10_000 + i, (10_000 + i - i) * 1e6); // latency i ms
    const s = l.summary(10_100)!;
    expect([s.samples, s.p50, s.p99, s.max, s.latest, s.rate]).toEqual([100, 51, 100, 100, 100, 100]);
    expect(l.summary(12_000)).toBeUndefined();
  });
});

describe("AlertEngine", () => {
  it("notifies matching events, at most once per interval per rule, counting the rest", () => {
    let now = 0;
    const hits: AlertHit[] = [];
    const e = new AlertEngine((h) => hits.push(h), () => now, 3000);
    const rule = { id: "r", name: "golden", filter: validate({ symbols: ["SPY"], flags: ["golden"] }), sound: false, enabled: true };
    e.setRules([rule, { ...rule, id: "off", enabled: false }]);
    e.check(event({ flags: ["golden"] }));
    e.check(event({ flags: [] }));
    e.check(event({ flags: ["golden"] }));
    e.check(event({ flags: ["golden"] }));
    e.check(event({ kind: "cancel", cancels: ["x"] }));
    expect(hits.map((h) => [h.rule.id, h.more])).toEqual([["r", 0]]);
    now = 3000;
    e.flush();
    expect(hits.map((h) => [h.rule.id, h.more])).toEqual([["r", 0], ["r", 1]]);
    expect(e.log).toHaveLength(2);
  });

  it("stores rules and drops those that no longer validate", () => {
    const m = new Map<string, string>();
    const store = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: () => {} };
    const ok = { id: "1", name: "a", filter: { symbols: ["SPY"] }, sound: true, enabled: true };
    saveRules(store, [ok, { ...ok, id: "2", filter: { symbols: ["SPY"], kinds: ["nope"] } }]);
    expect(loadRules(store)).toEqual([ok]);
  });
});

describe("FeedModel", () => {
  function model() {
    const frames: (() => void)[] = [];
    const m = new FeedModel(validate({ symbols: ["SPY", "QQQ"] }), {
      historySize: 100,
      frameBudgetMs: 10_000, // the budget has a test of its own
      redrawMs: 0,
      frames: (fn) => frames.push(fn),
      now: () => 1_700_000_100_000,
    });
    const frame = () => frames.splice(0).forEach((f) => f());
    return { m, frame };
  }

  it("draws once per frame however many frames of events came", () => {
    const { m, frame } = model();
    let draws = 0;
    m.subscribe(() => draws++);
    for (let i = 0; i < 50; i++) m.events([event(), event()], "live");
    expect(m.backlog).toBe(100);
    expect(m.history.size).toBe(0);
    frame();
    expect([m.history.size, m.backlog, draws, m.frame.maxBacklog]).toEqual([100, 0, 1, 100]);
  });

  it("shows only the view's events; an alert rule's own go to the alerts", () => {
    const hits: AlertHit[] = [];
    const frames: (() => void)[] = [];
    const m = new FeedModel(validate({ symbols: ["SPY"] }), { frames: (f) => frames.push(f), notify: (h) => hits.push(h), redrawMs: 0 });
    m.setRules([{ id: "t", name: "tsla sweeps", filter: validate({ symbols: ["TSLA"], kinds: ["sweep"] }), sound: false, enabled: true }]);
    m.events([event({ underlying: "TSLA", kind: "sweep" }), event()], "live");
    m.events([event({ underlying: "TSLA", kind: "sweep" })], "snapshot");
    frames.splice(0).forEach((f) => f());
    expect([...m.history.rows()].map((r) => r.ev.underlying)).toEqual(["SPY"]);
    expect(hits).toHaveLength(1);
  });

  it("holds new rows while paused, counts them, applies cancels, and adds them on resume", () => {
    const { m, frame } = model();
    const a = event();
    m.events([a], "live");
    frame();
    m.setPaused(true);
    const later = [event(), event(), event({ kind: "cancel", cancels: [a.key] })];
    m.events(later, "live");
    frame();
    expect([m.history.size, m.pause.arrived]).toEqual([1, 3]);
    expect(m.history.at(0)!.cancelled).toBe(true);
    m.setPaused(false);
    expect(m.history.size).toBe(4);
    expect(m.history.at(0)!.ev.key).toBe(later[2].key);
  });

  it("starts a new view over, and places a snapshot under newer rows", () => {
    const { m, frame } = model();
    m.events([event()], "live");
    frame();
    m.setFilter(validate({ symbols: ["SPY"], kinds: ["sweep"] }));
    expect(m.history.size).toBe(0);
    const old = event({ kind: "sweep" });
    const fresh = event({ kind: "sweep" });
    m.events([fresh, event({ kind: "trade" })], "live");
    m.events([old], "snapshot");
    frame();
    expect(keys(m.history)).toEqual([fresh.key, old.key]);
    expect(m.aggregates.top(1)[0].count).toBe(2);
  });

  it("redraws at most once per interval while events keep coming", () => {
    let t = 0;
    const frames: (() => void)[] = [];
    const perf = performance.now;
    performance.now = () => t;
    try {
      const m = new FeedModel(validate({ symbols: ["SPY"] }), { frames: (f) => frames.push(f), redrawMs: 100 });
      let draws = 0;
      m.subscribe(() => draws++);
      for (let frame = 0; frame < 30; frame++) {
        m.events([event()], "live");
        frames.splice(0).forEach((f) => f());
        t += 1000 / 60;
      }
      expect(m.history.size).toBe(30); // every frame works off its events
      expect(draws).toBe(5); // 500 ms of frames: a draw every 100 ms
      while (frames.length) {
        t += 1000 / 60;
        frames.splice(0).forEach((f) => f());
      }
      expect(draws).toBe(6); // the last events are drawn too
    } finally {
      performance.now = perf;
    }
  });

  it("works off a backlog over several frames within its budget", () => {
    let t = 0;
    const frames: (() => void)[] = [];
    const perf = performance.now;
    performance.now = () => (t += 1); // every look at the clock costs 1 ms
    try {
      const m = new FeedModel(validate({ symbols: ["SPY"] }), { frames: (f) => frames.push(f), frameBudgetMs: 4, redrawMs: 0 });
      for (let i = 0; i < 20; i++) m.events([event()], "live");
      frames.splice(0).forEach((f) => f());
      expect(m.backlog).toBeGreaterThan(0);
      expect(frames).toHaveLength(1); // the rest waits for the next frame
      while (frames.length) frames.splice(0).forEach((f) => f());
      expect([m.backlog, m.history.size]).toEqual([0, 20]);
    } finally {
      performance.now = perf;
    }
  });
});

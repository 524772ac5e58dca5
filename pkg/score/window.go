package score

import (
	"math"

	"github.com/liveflow/liveflow/pkg/flow"
)

// window is an open group of fills: an order cluster in one contract, which
// becomes a sweep or a split, or a group of multi-leg prints of one
// underlying, which becomes a spread.
type window struct {
	spread   bool
	u        *underlying
	c        *contract // for a cluster
	deadline int64     // the window closes once partition time passes it
	dir      int       // +1 buyer, -1 seller; clusters only
	fills    []flow.Fill
	bid, ask float64     // NBBO before the first fill
	flags    flow.Flags  // ISO evidence, multi-leg
	closed   bool        // closed early; its queue entry is skipped
	origin   flow.Source // the print that opened it, to order equal deadlines
}

// queue holds open windows in the order they close: by deadline, then by the
// tick that opened them. The order depends only on the ticks, so an engine
// restored from snapshots closes windows exactly as one that never stopped.
// Windows closed early stay in the heap, marked, until they reach the top.
type queue struct {
	ws []*window
}

func (q *queue) less(i, j int) bool {
	a, b := q.ws[i], q.ws[j]
	if a.deadline != b.deadline {
		return a.deadline < b.deadline
	}
	if a.origin.Offset != b.origin.Offset {
		return a.origin.Offset < b.origin.Offset
	}
	return a.origin.N < b.origin.N
}

func (q *queue) push(w *window) {
	q.ws = append(q.ws, w)
	for i := len(q.ws) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			break
		}
		q.ws[i], q.ws[parent] = q.ws[parent], q.ws[i]
		i = parent
	}
}

// pop removes and returns the top window if it was closed early or its
// deadline is before ts.
func (q *queue) pop(ts int64) *window {
	if len(q.ws) == 0 {
		return nil
	}
	w := q.ws[0]
	if !w.closed && w.deadline >= ts {
		return nil
	}
	last := len(q.ws) - 1
	q.ws[0] = q.ws[last]
	q.ws[last] = nil
	q.ws = q.ws[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q.ws) && q.less(l, m) {
			m = l
		}
		if r < len(q.ws) && q.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		q.ws[i], q.ws[m] = q.ws[m], q.ws[i]
		i = m
	}
	return w
}

// closeBefore closes every open window whose deadline lies before ts.
func (e *Engine) closeBefore(ts int64, em *emitter) {
	for _, q := range [...]*queue{&e.clusters, &e.spreads} {
		for w := q.pop(ts); w != nil; w = q.pop(ts) {
			if !w.closed {
				e.close(w, em)
			}
			e.recycle(w)
		}
	}
}

// newWindow takes a window from the free list, or makes one.
func (e *Engine) newWindow() *window {
	if n := len(e.free); n > 0 {
		w := e.free[n-1]
		e.free = e.free[:n-1]
		return w
	}
	return &window{}
}

// recycle returns a window to the free list once it has left its queue. A
// window closed early stays queued, marked closed, until then.
func (e *Engine) recycle(w *window) {
	fills := w.fills[:0]
	*w = window{fills: fills}
	e.free = append(e.free, w)
}

// closeStaleCluster closes the contract's open cluster when a fill of
// direction dir at ts cannot join it: another direction, or past the window.
func (e *Engine) closeStaleCluster(c *contract, dir int, ts int64, em *emitter) {
	if w := c.sweep; w != nil && (w.dir != dir || ts > w.deadline) {
		e.close(w, em)
		w.closed = true
	}
}

// addFill puts an aggressive fill into its contract's open cluster, or a new
// one; closeStaleCluster has made sure it belongs.
func (e *Engine) addFill(u *underlying, c *contract, f flow.Fill, dir int, bid, ask float64, cls class) {
	if c.sweep == nil {
		w := e.newWindow()
		w.u, w.c, w.dir, w.bid, w.ask, w.origin = u, c, dir, bid, ask, f.Source
		w.deadline = f.TS + int64(e.cfg.SweepWindow)
		c.sweep = w
		e.clusters.push(w)
	}
	c.sweep.fills = append(c.sweep.fills, f)
	if cls&iso != 0 {
		c.sweep.flags |= flow.ISO
	}
}

// closeStaleSpread closes the underlying's spread group when a leg at ts is
// past its window.
func (e *Engine) closeStaleSpread(u *underlying, ts int64, em *emitter) {
	if w := u.spread; w != nil && ts > w.deadline {
		e.close(w, em)
		w.closed = true
	}
}

// addLeg puts a multi-leg print into its underlying's spread group.
func (e *Engine) addLeg(u *underlying, f flow.Fill, bid, ask float64) {
	if u.spread == nil {
		w := e.newWindow()
		w.spread, w.u, w.bid, w.ask, w.flags, w.origin = true, u, bid, ask, flow.MultiLeg, f.Source
		w.deadline = f.TS + int64(e.cfg.SpreadWindow)
		u.spread = w
		e.spreads.push(w)
	}
	u.spread.fills = append(u.spread.fills, f)
}

// close emits what a window amounts to and detaches it. A cluster of two or
// more fills is a sweep (two or more exchanges) or a split (one exchange);
// every cluster also counts as one order towards repeated hits. A group of
// two or more legs is a spread.
func (e *Engine) close(w *window, em *emitter) {
	e.dirty[w.u.name] = struct{}{}
	if w.spread {
		w.u.spread = nil
		if len(w.fills) >= 2 {
			a := emittedAgg{kind: flow.KindSpread, fills: clone(w.fills), bid: w.bid, ask: w.ask, flags: w.flags}
			e.emitAgg(w.u, a, em.keyed(slot(w.origin, slotSpread)))
		}
		return
	}
	w.c.sweep = nil
	if len(w.fills) == 0 {
		return // every fill was cancelled
	}
	if len(w.fills) >= 2 {
		kind := flow.KindSplit
		if exchanges(w.fills) >= 2 {
			kind = flow.KindSweep
		}
		a := emittedAgg{kind: kind, fills: clone(w.fills), bid: w.bid, ask: w.ask, flags: w.flags}
		e.emitAgg(w.u, a, em.keyed(slot(w.origin, slotOrder)))
	}
	e.hit(w, em)
}

// hit counts a closed order towards repeated hits in its contract and emits
// repeated hits when RepeatedCount orders of one direction fell within
// RepeatedWindow of the first.
func (e *Engine) hit(w *window, em *emitter) {
	c := w.c
	first := w.fills[0].TS
	if len(c.hits) > 0 && (c.hits[0].dir != w.dir || first-c.hits[0].ts > int64(e.cfg.RepeatedWindow)) {
		c.hits, c.hitFills = c.hits[:0], c.hitFills[:0]
	}
	c.hits = append(c.hits, hit{ts: first, dir: w.dir, n: len(w.fills)})
	c.hitFills = append(c.hitFills, w.fills...)
	if len(c.hits) < e.cfg.RepeatedCount {
		return
	}
	fills := clone(c.hitFills)
	c.hits, c.hitFills = c.hits[:0], c.hitFills[:0]
	a := emittedAgg{kind: flow.KindRepeated, fills: fills, bid: w.bid, ask: w.ask}
	e.emitAgg(w.u, a, em.keyed(slot(fills[0].Source, slotRepeated)))
}

// slot returns the key source of an aggregate opened by the print at src.
func slot(src flow.Source, n int32) flow.Source {
	return flow.Source{Partition: src.Partition, Offset: src.Offset, N: n}
}

// emitAgg describes an aggregate into ev and remembers it for cancels.
func (e *Engine) emitAgg(u *underlying, a emittedAgg, ev *flow.Event) {
	a.src = ev.Source
	e.buildAgg(ev, u, a)
	u.rememberAgg(a)
}

// buildAgg describes an aggregate from its fills: totals, the size-weighted
// average price, the most aggressive side, the exchanges, and for a sweep
// whether it is golden.
func (e *Engine) buildAgg(ev *flow.Event, u *underlying, a emittedAgg) {
	c := u.contracts[a.fills[0].Symbol]
	last := a.fills[len(a.fills)-1]
	e.describe(ev, u, c, last.TS)
	ev.Kind, ev.Fills, ev.Flags = a.kind, a.fills, a.flags
	ev.Bid, ev.Ask = a.bid, a.ask
	ev.Premium, ev.Size = premiumOf(a.fills)
	var notional float64
	for _, f := range a.fills {
		notional += f.Price * float64(f.Size)
	}
	ev.Price = math.Round(notional/float64(ev.Size)*10000) / 10000
	ev.Exchanges = int32(exchanges(a.fills))
	if ev.Exchanges == 1 {
		ev.Exchange = a.fills[0].Exchange
	}
	if a.kind == flow.KindSpread {
		ev.Side, ev.Sentiment = flow.SideUnknown, flow.Neutral
	} else {
		ev.Side = strongest(a.fills)
		ev.Sentiment = sentiment(ev.Side, c.parsed.Right)
	}
	if a.kind == flow.KindSweep && ev.Premium >= e.cfg.GoldenPremium && c.oi > 0 && ev.Size > c.oi &&
		ev.Spot > 0 && math.Abs(ev.OTMPct) <= e.cfg.NearMoneyPct {
		ev.Flags |= flow.Golden
	}
	if a.kind != flow.KindSpread && e.unusual(c, ev.Size, c.volume) {
		ev.Flags |= flow.Unusual
	}
	e.rate(ev)
}

// strongest returns the most aggressive side among fills of one direction.
func strongest(fills []flow.Fill) string {
	side := fills[0].Side
	for _, f := range fills {
		if f.Side == flow.SideAboveAsk || f.Side == flow.SideBelowBid {
			return f.Side
		}
	}
	return side
}

func exchanges(fills []flow.Fill) int {
	n := 0
	for i, f := range fills {
		seen := false
		for _, g := range fills[:i] {
			if g.Exchange == f.Exchange {
				seen = true
				break
			}
		}
		if !seen {
			n++
		}
	}
	return n
}

func clone(fills []flow.Fill) []flow.Fill {
	return append([]flow.Fill(nil), fills...)
}

package score

import (
	"math"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/tick"
)

// cancel retracts the newest print of the contract with the cancel's price,
// size and (when both name one) exchange: its volume, its place in open
// windows and counted hits, and every emitted aggregate that included it.
// It emits a cancel event listing the retracted keys, then the aggregates
// that still stand without the print, under new keys.
func (e *Engine) cancel(u *underlying, c *contract, t *tick.Tick, em *emitter) {
	i := len(c.prints) - 1
	for ; i >= 0; i-- {
		p := &c.prints[i]
		if !p.cancelled && math.Abs(p.fill.Price-t.Price) <= eps && p.fill.Size == t.Size &&
			(t.Exchange == "" || p.fill.Exchange == "" || p.fill.Exchange == t.Exchange) {
			break
		}
	}
	if i < 0 {
		e.stats.UnmatchedCancels++
		return
	}
	p := &c.prints[i]
	p.cancelled = true
	c.volume -= p.fill.Size
	src := p.fill.Source

	if c.sweep != nil {
		c.sweep.fills = without(c.sweep.fills, src)
	}
	if u.spread != nil {
		u.spread.fills = without(u.spread.fills, src)
	}
	c.dropHitFill(src)

	retracted := []string{src.Key()}
	var revised []emittedAgg
	kept := u.aggs[:0]
	for _, a := range u.aggs {
		rest := without(a.fills, src)
		if len(rest) == len(a.fills) {
			kept = append(kept, a)
			continue
		}
		retracted = append(retracted, a.src.Key())
		if r, ok := e.revise(a, rest); ok {
			revised = append(revised, r)
		}
	}
	u.aggs = kept

	ev := em.next()
	e.describe(ev, u, c, t.TS)
	ev.Kind, ev.Side, ev.Sentiment = flow.KindCancel, flow.SideUnknown, flow.Neutral
	ev.Price, ev.Size, ev.Premium = p.fill.Price, p.fill.Size, p.premium
	ev.Exchange, ev.Exchanges, ev.Conditions = p.fill.Exchange, 1, t.Conditions
	ev.Cancels = retracted
	e.rate(ev)

	for _, r := range revised {
		e.emitAgg(u, r, em.next())
	}
}

// revise returns what an aggregate amounts to without one of its fills, and
// whether anything stands: two fills or more. A sweep left on one exchange
// becomes a split.
func (e *Engine) revise(a emittedAgg, rest []flow.Fill) (emittedAgg, bool) {
	if len(rest) < 2 {
		return emittedAgg{}, false
	}
	if a.kind == flow.KindSweep || a.kind == flow.KindSplit {
		a.kind = flow.KindSplit
		if exchanges(rest) >= 2 {
			a.kind = flow.KindSweep
		}
	}
	a.fills = rest
	return a, true
}

// without returns fills less the one from src, reusing the slice.
func without(fills []flow.Fill, src flow.Source) []flow.Fill {
	for i, f := range fills {
		if f.Source == src {
			return append(fills[:i:i], fills[i+1:]...)
		}
	}
	return fills
}

// dropHitFill removes a cancelled fill from the orders counted towards
// repeated hits; an order left with no fill no longer counts.
func (c *contract) dropHitFill(src flow.Source) {
	start := 0
	for i := range c.hits {
		h := &c.hits[i]
		for j := start; j < start+h.n; j++ {
			if c.hitFills[j].Source != src {
				continue
			}
			c.hitFills = append(c.hitFills[:j], c.hitFills[j+1:]...)
			if h.n--; h.n == 0 {
				c.hits = append(c.hits[:i], c.hits[i+1:]...)
			}
			return
		}
		start += h.n
	}
}

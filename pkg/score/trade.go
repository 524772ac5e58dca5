package score

import (
	"math"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/tick"
)

// trade handles one print: a cancel retracts, anything else updates the
// contract, emits the print's event and feeds the aggregates.
func (e *Engine) trade(u *underlying, c *contract, t *tick.Tick, em *emitter) {
	cls := classOf(t.Conditions)
	if cls&cancel != 0 {
		e.cancel(u, c, t, em)
		return
	}

	side := flow.SideUnknown
	if cls.sided() {
		side = classify(t.Price, c.bid, c.ask, c.last)
	}

	// Windows this print closes emit their aggregates first, as of the state
	// before the print, and that fixes the print's number within the tick.
	dir := direction(side)
	switch {
	case cls&multiLeg != 0:
		e.closeStaleSpread(u, t.TS, em)
	case dir != 0 && cls.directional():
		e.closeStaleCluster(c, dir, t.TS, em)
	}

	bid, ask := c.bid, c.ask
	c.last = t.Price
	c.volume += t.Size
	unusual := e.unusual(c, t.Size, c.volume)
	c.sizeSum += float64(t.Size)
	c.sizeCount++

	ev := em.next()
	fill := flow.Fill{
		Source: ev.Source, TS: t.TS, Symbol: c.symbol, Exchange: t.Exchange,
		Price: t.Price, Size: t.Size, Side: side,
	}
	e.describe(ev, u, c, t.TS)
	ev.Kind = flow.KindTrade
	ev.Side, ev.Sentiment = side, sentiment(side, c.parsed.Right)
	ev.Price, ev.Size, ev.Premium = t.Price, t.Size, premium(t.Price, t.Size)
	ev.Bid, ev.Ask = bid, ask
	ev.Exchange, ev.Exchanges, ev.Conditions = t.Exchange, 1, t.Conditions
	ev.Flags = cls.flags()
	if unusual {
		ev.Flags |= flow.Unusual
	}
	if cls&multiLeg == 0 && (t.Size >= e.cfg.BlockSize || ev.Premium >= e.cfg.BlockPremium) {
		ev.Kind = flow.KindBlock
	}
	e.rate(ev)
	c.remember(print{fill: fill, premium: ev.Premium})

	switch {
	case cls&multiLeg != 0:
		e.addLeg(u, fill, bid, ask)
	case dir != 0 && cls.directional():
		e.addFill(u, c, fill, dir, bid, ask, cls)
	}
}

// unusual reports whether a print of size is unusual for the contract:
// today's volume above open interest, or a size far above its average print.
func (e *Engine) unusual(c *contract, size, volume int64) bool {
	if c.oi > 0 && volume > c.oi {
		return true
	}
	if c.sizeCount < int64(e.cfg.UnusualMinPrints) {
		return false
	}
	return float64(size) >= e.cfg.UnusualSizeFactor*c.sizeSum/float64(c.sizeCount)
}

// describe fills the fields every event of a contract shares.
func (e *Engine) describe(ev *flow.Event, u *underlying, c *contract, ts int64) {
	ev.TS = ts
	ev.Underlying, ev.Symbol = u.name, c.symbol
	ev.Expiry, ev.DTE = c.expiry, c.expiryDay-u.day
	ev.Strike, ev.Right = c.strike, c.right
	ev.Spot = u.spot
	ev.OTMPct = otmPercent(c.parsed.Right, c.strike, u.spot)
	ev.Volume, ev.OpenInterest = c.volume, c.oi
}

// premiumOf sums the premium of fills.
func premiumOf(fills []flow.Fill) (prem float64, size int64) {
	for _, f := range fills {
		prem += premium(f.Price, f.Size)
		size += f.Size
	}
	return math.Round(prem*100) / 100, size
}

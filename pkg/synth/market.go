package synth

import (
	"math"

	"github.com/liveflow/liveflow/pkg/tick"
)

// Condition lists shared by the ticks; full slice expressions cap them so that
// a consumer's append copies instead of writing into the shared array.
var (
	noConds  = []string{}
	isoConds = []string{"ISOI"}[:1:1]
)

const (
	nsPerYear = 365 * 24 * 3600 * 1e9
	// minYears floors time to expiry at an hour, which keeps an expiring
	// contract's value finite if the generator runs past its close.
	minYears = 1.0 / (365 * 24)
	// staleMove is the spot move since a contract's last quote beyond which its
	// NBBO is refreshed before a trade.
	staleMove = 0.0005
)

// quoted reports whether the contract has had a quote.
func (c *contract) quoted() bool { return c.ask > 0 }

// stale reports whether the spot has moved enough since the last quote to
// reprice the contract.
func (c *contract) stale(spot float64) bool {
	return math.Abs(spot/c.quotedAtSpot-1) > staleMove
}

// theo returns the contract's Black-Scholes value in dollars (no rates or
// dividends) with a mild skew: OTM puts richer, far wings richer.
func theo(u *underlying, c *contract, now int64) float64 {
	t := max(float64(c.closeNs-now)/nsPerYear, minYears)
	k := float64(c.strike) / 1000
	x := math.Log(k / u.spot)
	vol := max(u.iv*(1-0.4*x+1.2*x*x), 0.05)
	sd := vol * math.Sqrt(t)
	d1 := -x/sd + sd/2
	d2 := d1 - sd
	if c.put {
		return k*ncdf(-d2) - u.spot*ncdf(-d1)
	}
	return u.spot*ncdf(d1) - k*ncdf(d2)
}

func ncdf(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// priceIncrement returns the quote increment in cents: index products trade in
// pennies at every price, the rest in pennies below $3 and nickels above, as
// in the penny program.
func priceIncrement(u *underlying, theoCents float64) int64 {
	if u.etf || theoCents < 300 {
		return 1
	}
	return 5
}

// requote sets a fresh NBBO around the contract's value. The spread is at
// least one increment and grows with the premium, with OTM-ness and for
// quieter names; now and then one side is a tick wider for a moment.
func (g *Generator) requote(u *underlying, c *contract, now int64) {
	v := theo(u, c, now) * 100
	tk := priceIncrement(u, v)
	m := math.Abs(math.Log(float64(c.strike) / 1000 / u.spot))
	width := float64(tk)*u.wide*(1+4*m) + 0.003*v*u.wide
	sp := int64(math.Ceil(width/float64(tk))) * tk
	bid := int64(max(v-float64(sp)/2, 0)) / tk * tk
	ask := bid + sp
	if g.rng.IntN(8) == 0 {
		if bid >= tk && g.rng.IntN(2) == 0 {
			bid -= tk
		} else {
			ask += tk
		}
	}
	c.bid, c.ask, c.incr, c.quotedAtSpot = bid, ask, tk, u.spot
	c.bidSz, c.askSz = g.quoteSize(u), g.quoteSize(u)
	if bid == 0 {
		c.bidSz = 0 // no bid, no size
	}
}

// quoteSize returns a displayed size, deeper for busier names.
func (g *Generator) quoteSize(u *underlying) int64 {
	depth := 10 + int64(490*math.Sqrt(u.liq))
	return 1 + g.rng.Int64N(depth)
}

// pushQuote refreshes the contract's NBBO and queues it.
func (g *Generator) pushQuote(u *underlying, c *contract, now int64) {
	g.requote(u, c, now)
	g.push(tick.Tick{
		Type:       tick.Quote,
		Underlying: u.root,
		Symbol:     c.sym,
		Conditions: noConds,
		Bid:        dollars(c.bid),
		Ask:        dollars(c.ask),
		BidSize:    c.bidSz,
		AskSize:    c.askSz,
	})
}

// spotTick returns a spot tick for u and restarts its countdown.
func (g *Generator) spotTick(u *underlying) tick.Tick {
	u.sent, u.since, u.every = u.spot, 0, 40+g.rng.IntN(21)
	return tick.Tick{Type: tick.Spot, Underlying: u.root, Price: cents(u.spot),
		Conditions: noConds}
}

// oiTick returns the contract's open interest: heavier near the money, for
// short DTE, monthlies and busier names, and now and then tiny so that the
// day's volume can exceed it.
func (g *Generator) oiTick(u *underlying, c *contract) tick.Tick {
	var oi int64
	if g.rng.IntN(12) == 0 {
		oi = g.rng.Int64N(50)
	} else {
		m := math.Abs(math.Log(float64(c.strike) / 1000 / u.spot))
		w := 40000 * u.liq * math.Exp(-12*m) / math.Sqrt(1+float64(c.dte)/7)
		if c.monthly {
			w *= 2
		}
		oi = int64(w * math.Exp(0.8*g.rng.NormFloat64()))
	}
	return tick.Tick{Type: tick.OpenInterest, Underlying: u.root, Symbol: c.sym,
		OpenInterest: oi, Conditions: noConds}
}

// dollars converts cents to dollars; both sides of a comparison converted this
// way compare as the cents do.
func dollars(c int64) float64 { return float64(c) / 100 }

package synth

import (
	"math"

	"github.com/liveflow/liveflow/pkg/tick"
)

// venues are the OPRA participants with rough shares of volume, in percent.
var venues = [...]struct {
	name   string
	weight int
}{
	{"CBOE", 12}, {"PHLX", 10}, {"ISE", 8}, {"ARCA", 8}, {"AMEX", 7}, {"NOM", 7},
	{"MIAX", 6}, {"BZX", 5}, {"EDGX", 5}, {"PEARL", 5}, {"C2", 4}, {"EMLD", 4},
	{"MEMX", 4}, {"BOX", 3}, {"GEMX", 3}, {"SPHR", 3}, {"MRX", 2}, {"BX", 2},
}

// venueTotal is the sum of the venue weights (93, not 100: close enough).
var venueTotal = func() int {
	n := 0
	for _, v := range venues {
		n += v.weight
	}
	return n
}()

// place is where a trade prints relative to the NBBO.
type place int

const (
	aboveAsk place = iota
	atAsk
	nearAsk // between the quotes, nearer the ask
	atMid
	nearBid
	atBid
	belowBid
)

// placeCum is the cumulative share of single trades per place, in the order of
// the constants: about two thirds at the quotes, a third between them and a
// few percent outside, as in published studies of option trades.
var placeCum = [...]float64{0.02, 0.35, 0.47, 0.57, 0.68, 0.98, 1}

// blockCum favours the midpoint: blocks are mostly negotiated crosses.
var blockCum = [...]float64{0, 0.25, 0.30, 0.70, 0.75, 1, 1}

// crossConds marks a single-leg cross, the usual way a block is printed.
var crossConds = []string{"SLCN"}[:1:1]

// Conditions of single trades: mostly none; auctions, crosses, floor and
// multi-leg prints now and then. Cumulative shares per thousand.
var condTable = [...]struct {
	conds []string
	cum   int
}{
	{noConds, 900},
	{[]string{"SLAN"}[:1:1], 940},
	{[]string{"MLET"}[:1:1], 970},
	{[]string{"MLAT"}[:1:1], 980},
	{crossConds, 990},
	{[]string{"SLFT"}[:1:1], 1000},
}

// pushTrade queues a trade on c against its current NBBO: a sweep, a block or
// a single print.
func (g *Generator) pushTrade(u *underlying, c *contract) {
	r := g.rng.Float64()
	switch {
	case r < g.cfg.SweepProb:
		g.pushSweep(u, c)
	case r < g.cfg.SweepProb+g.cfg.BlockProb:
		g.pushBlock(u, c)
	default:
		px := g.priceAt(pick(placeCum[:], g.rng.Float64()), c)
		g.push(trade(u, c, px, g.tradeSize(), g.venue(), g.conditions()))
	}
}

// pushSweep queues one order split into 2-6 ISO fills on distinct venues, all
// on the same side: at the ask for a buy (walking above it as the inside is
// taken out), at the bid for a sell. Fills follow each other by 0-5 ms, mostly
// well under one: the stream's ts never decreases, so long gaps would run it
// ahead of the caller's clock at high tick rates.
func (g *Generator) pushSweep(u *underlying, c *contract) {
	n := 2 + g.rng.IntN(5)
	buy := c.bid == 0 || g.rng.IntN(5) < 3
	px := c.bid
	if buy {
		px = c.ask
	}
	var used uint32
	for i := range n {
		if i > 0 && g.rng.IntN(4) == 0 {
			px = g.walk(px, c.incr, buy)
		}
		t := trade(u, c, px, g.sweepSize(), g.distinctVenue(&used), isoConds)
		if i == 0 {
			g.push(t)
		} else {
			g.pushChained(t, min(int64(700_000*g.rng.ExpFloat64()), 5_000_000))
		}
	}
}

// walk moves a sweep's price one increment through the book, away from the
// other side, never to zero.
func (g *Generator) walk(px, tk int64, buy bool) int64 {
	if buy {
		return px + tk
	}
	if px > tk {
		return px - tk
	}
	return px
}

// pushBlock queues one large print on one venue: size of 500 or more, or a
// premium of $100K or more at a dearer price.
func (g *Generator) pushBlock(u *underlying, c *contract) {
	px := g.priceAt(pick(blockCum[:], g.rng.Float64()), c)
	size := 500 + 50*int64(8*g.rng.ExpFloat64())
	if px >= 500 && g.rng.IntN(2) == 0 {
		// Premium in dollars is price in cents times size (100 shares a lot).
		premium := 100_000 + 300_000*g.rng.Float64()
		size = int64(math.Ceil(premium / float64(px)))
	}
	conds := noConds
	if g.rng.IntN(4) == 0 {
		conds = crossConds
	}
	g.push(trade(u, c, px, size, g.venue(), conds))
}

// priceAt returns a trade price in cents at place p against c's NBBO. A place
// the quote cannot hold (between quotes a tick apart, at or below a zero bid)
// falls back to the ask side, so every price is positive.
func (g *Generator) priceAt(p place, c *contract) int64 {
	b, a := c.bid, c.ask
	switch p {
	case aboveAsk:
		return a + c.incr
	case nearAsk:
		return g.between((a+b)/2+1, a-1, a)
	case atMid:
		return g.between((a+b)/2, (a+b+1)/2, a)
	case nearBid:
		return g.between(b+1, (a+b+1)/2-1, a)
	case atBid:
		if b > 0 {
			return b
		}
	case belowBid:
		if b > c.incr {
			return b - c.incr
		}
	}
	return a
}

// between returns a uniform price in [lo, hi], or fallback when that is empty.
func (g *Generator) between(lo, hi, fallback int64) int64 {
	if lo > hi || lo <= 0 {
		return fallback
	}
	return lo + g.rng.Int64N(hi-lo+1)
}

// tradeSize returns a heavy-tailed lot count below the block threshold: half
// are one-lots, a few percent 20 or more, and larger ones often round.
func (g *Generator) tradeSize() int64 {
	s := g.pareto(1, 1.1)
	if s > 5 && g.rng.IntN(3) == 0 {
		s = min((s+4)/5*5, 495)
	}
	return s
}

// sweepSize returns the size of one sweep fill: what a venue displays, larger
// than a typical single print.
func (g *Generator) sweepSize() int64 {
	return min(g.pareto(10, 1.5)+g.rng.Int64N(10), 499)
}

// pareto returns a Pareto-distributed size of the given scale and tail index,
// truncated below 500 by drawing again, which leaves sizes of 500 and more to
// blocks without piling a bump at the limit.
func (g *Generator) pareto(scale, alpha float64) int64 {
	for {
		if s := int64(scale * math.Pow(1-g.rng.Float64(), -1/alpha)); s < 500 {
			return s
		}
	}
}

// venue returns a venue index weighted by share of volume.
func (g *Generator) venue() int {
	r := g.rng.IntN(venueTotal)
	for i, v := range venues {
		if r < v.weight {
			return i
		}
		r -= v.weight
	}
	return len(venues) - 1
}

// distinctVenue returns a weighted venue not yet in used, and adds it.
func (g *Generator) distinctVenue(used *uint32) int {
	v := g.venue()
	for *used&(1<<v) != 0 {
		v = g.venue()
	}
	*used |= 1 << v
	return v
}

func (g *Generator) conditions() []string {
	r := g.rng.IntN(1000)
	for _, c := range condTable {
		if r < c.cum {
			return c.conds
		}
	}
	return noConds
}

// pick returns the index of the first cumulative share above r.
func pick(cum []float64, r float64) place {
	for i, c := range cum {
		if r < c {
			return place(i)
		}
	}
	return place(len(cum) - 1)
}

func trade(u *underlying, c *contract, px, size int64, venue int, conds []string) tick.Tick {
	return tick.Tick{
		Type:       tick.Trade,
		Underlying: u.root,
		Symbol:     c.sym,
		Price:      dollars(px),
		Size:       size,
		Exchange:   venues[venue].name,
		Conditions: conds,
	}
}

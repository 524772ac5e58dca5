// Package synth generates realistic, deterministic option market data: spot,
// open-interest, NBBO quote and trade ticks for a few hundred underlyings, with
// Zipf-like activity across names, chains of weekly and monthly expiries,
// trades placed against the NBBO, multi-exchange sweeps and blocks.
//
// A Generator is pure: it starts no goroutines, reads no clock and uses no
// global random source. Time is handed to Next, so the same Config and the same
// sequence of times always yield the same ticks (for a given Go release, whose
// math/rand/v2 algorithms fix the streams). A Generator is not safe for
// concurrent use; give each goroutine its own.
package synth

import (
	"math/rand/v2"

	"github.com/liveflow/liveflow/pkg/tick"
)

// Generator produces an endless stream of ticks. Create it with New.
type Generator struct {
	cfg  Config // defaults applied
	rng  *rand.Rand
	zipf *rand.Zipf
	unds []*underlying // by activity, busiest first

	// Listings are fixed by the first call to Next: chains do not roll, so a
	// Generator models one session (a few days at most).
	begun      bool
	full, thin *listing

	lastTS int64
	queue  []queued // ticks already decided, returned before new ones
	head   int      // next entry of queue to return
}

// queued is a decided tick waiting to be returned. A chained tick is stamped
// delay after the tick before it instead of with the caller's time, which keeps
// the fills of a sweep a few milliseconds apart whatever the caller's clock does.
type queued struct {
	t       tick.Tick
	chained bool
	delay   int64
}

// New returns a Generator for cfg, or the error of cfg.Validate.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	seed := uint64(cfg.Seed)
	// The second PCG word only has to differ from the first; any constant will do.
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &Generator{
		cfg:   cfg,
		rng:   rng,
		zipf:  rand.NewZipf(rng, cfg.Skew, 1, uint64(cfg.Underlyings-1)),
		unds:  newUniverse(rng, cfg.Underlyings),
		queue: make([]queued, 0, 16),
	}
	return g, nil
}

// Next returns the next tick stamped with exchange time now (Unix ns, which must
// be positive). The first call lists the expiries: the Fridays after now's UTC
// date. Ticks of a sweep's fills come out on consecutive calls, each 0-5 ms after
// the previous fill regardless of now. Timestamps never decrease: a tick is
// stamped with the later of now and the previous tick's ts.
//
// Before the first quote or trade of a contract comes an oi tick for it, before
// its first trade a quote, and before an underlying's first option tick a spot
// tick. Conditions are never nil; the slices are shared between ticks and must
// not be modified.
func (g *Generator) Next(now int64) tick.Tick {
	if g.head == len(g.queue) {
		g.queue, g.head = g.queue[:0], 0
		g.generate(now)
	}
	q := &g.queue[g.head]
	g.head++
	ts := max(now, g.lastTS)
	if q.chained {
		ts = g.lastTS + q.delay
	}
	g.lastTS = ts
	t := q.t
	t.TS = ts
	return t
}

// Underlyings returns the roots in order of activity, busiest first. The slice
// is a copy.
func (g *Generator) Underlyings() []string {
	roots := make([]string, len(g.unds))
	for i, u := range g.unds {
		roots[i] = u.root
	}
	return roots
}

// generate decides the next market event and queues its ticks, at least one.
func (g *Generator) generate(now int64) {
	if !g.begun {
		g.begin(now)
	}
	u := g.unds[g.zipf.Uint64()]
	if u.chain == nil {
		u.chain = g.newChain(u)
	}
	u.step(g.rng)
	if u.spotDue() {
		g.push(g.spotTick(u))
		return
	}
	c := g.pickContract(u)
	if !c.oiSent {
		g.push(g.oiTick(u, c))
		c.oiSent = true
	}
	if !c.quoted() || g.rng.Float64() < g.cfg.QuoteProb {
		g.pushQuote(u, c, now)
		return
	}
	// A trade is judged against the NBBO the consumer last saw, so refresh the
	// quote first when the underlying has moved enough to reprice the contract.
	if c.stale(u.spot) {
		g.pushQuote(u, c, now)
	}
	g.pushTrade(u, c)
}

// begin lists the expiries from the first time handed in.
func (g *Generator) begin(now int64) {
	exps := listExpiries(now, g.cfg.Weeklies, g.cfg.Monthlies)
	g.full = newListing(exps)
	g.thin = newListing(thinOut(exps))
	g.begun = true
}

// push queues a tick stamped when it is returned.
func (g *Generator) push(t tick.Tick) {
	g.queue = append(g.queue, queued{t: t})
}

// pushChained queues a tick stamped delay nanoseconds after the one before it.
func (g *Generator) pushChained(t tick.Tick, delay int64) {
	g.queue = append(g.queue, queued{t: t, chained: true, delay: delay})
}

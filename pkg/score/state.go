package score

import (
	"fmt"
	"time"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/occ"
)

// newYork is the calendar of the US options session: the trading day of a
// tick, days to expiry and the daily reset follow it.
var newYork = mustLocation("America/New_York")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return loc
}

// civilDay numbers calendar dates: days since 1970-01-01.
func civilDay(y int, m time.Month, d int) int32 {
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// underlying is everything the engine keeps about one underlying.
type underlying struct {
	name      string
	offset    int64 // last applied tick offset; ticks at or below it are skipped
	day       int32 // trading day of the state; -1 before the first tick
	dayEnd    int64 // first nanosecond after day, to avoid a calendar look-up per tick
	spot      float64
	contracts map[string]*contract
	spread    *window      // the open multi-leg group, if any
	aggs      []emittedAgg // recently emitted aggregates, for cancels
}

func (e *Engine) underlying(name string) *underlying {
	u, ok := e.unders[name]
	if !ok {
		u = &underlying{name: name, offset: -1, day: -1, contracts: make(map[string]*contract)}
		e.unders[name] = u
	}
	return u
}

// rollDay starts a new trading day when ts is past the current one: volumes,
// recent prints and repeated-hit counts reset, and expired contracts go.
func (u *underlying) rollDay(ts int64) {
	if ts < u.dayEnd {
		return
	}
	y, m, d := time.Unix(0, ts).In(newYork).Date()
	day := civilDay(y, m, d)
	u.dayEnd = time.Date(y, m, d+1, 0, 0, 0, 0, newYork).UnixNano()
	if day == u.day {
		return
	}
	u.day = day
	for sym, c := range u.contracts {
		if c.expiryDay < day {
			delete(u.contracts, sym)
			continue
		}
		c.volume = 0
		c.prints = c.prints[:0]
		c.hits, c.hitFills = c.hits[:0], c.hitFills[:0]
	}
	u.aggs = u.aggs[:0]
}

func (u *underlying) contract(symbol string) (*contract, error) {
	if c, ok := u.contracts[symbol]; ok {
		return c, nil
	}
	p, err := occ.Parse(symbol)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTick, err)
	}
	y, m, d := p.Expiry.Date()
	c := &contract{
		symbol:    symbol,
		parsed:    p,
		expiry:    p.Expiry.Format("2006-01-02"),
		expiryDay: civilDay(y, m, d),
		strike:    p.StrikePrice(),
		right:     p.Right.String(),
	}
	u.contracts[symbol] = c
	return c, nil
}

// maxPrints bounds the recent prints a contract keeps for matching cancels;
// a cancel of an older print is counted as unmatched.
const maxPrints = 64

// maxAggs bounds the emitted aggregates an underlying remembers for cancels.
const maxAggs = 16

// contract is what the engine keeps about one option contract.
type contract struct {
	symbol    string
	parsed    occ.Contract
	expiry    string // YYYY-MM-DD
	expiryDay int32
	strike    float64
	right     string

	bid, ask  float64
	last      float64 // previous trade price, for the tick rule
	oi        int64
	volume    int64   // today
	sizeSum   float64 // over every print seen, for the usual size
	sizeCount int64

	prints   []print     // today's recent prints, oldest first, at most maxPrints
	sweep    *window     // the open order cluster, if any
	hits     []hit       // aggressive orders within the repeated-hits window
	hitFills []flow.Fill // their fills, in order: hits[0].n fills, then hits[1].n, ...
}

// print is one trade as cancels and aggregates need it.
type print struct {
	fill      flow.Fill
	premium   float64
	cancelled bool
}

// hit is one aggressive order (a closed cluster) counted towards repeated hits.
type hit struct {
	ts  int64 // of its first fill
	dir int
	n   int // its fills in contract.hitFills
}

// emittedAgg remembers an emitted aggregate, so a cancel of one of its fills
// can retract it and emit what remains.
type emittedAgg struct {
	src      flow.Source
	kind     string
	fills    []flow.Fill
	bid, ask float64
	flags    flow.Flags // ISO or multi-leg evidence of the fills
}

func (c *contract) remember(p print) {
	if len(c.prints) == maxPrints {
		copy(c.prints, c.prints[1:])
		c.prints = c.prints[:maxPrints-1]
	}
	c.prints = append(c.prints, p)
}

func (u *underlying) rememberAgg(a emittedAgg) {
	if len(u.aggs) == maxAggs {
		copy(u.aggs, u.aggs[1:])
		u.aggs = u.aggs[:maxAggs-1]
	}
	u.aggs = append(u.aggs, a)
}

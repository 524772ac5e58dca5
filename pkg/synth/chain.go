package synth

import (
	"math"
	"time"

	"github.com/liveflow/liveflow/pkg/occ"
)

// expiry is one listed expiration date.
type expiry struct {
	date    time.Time // midnight UTC, as occ.Contract wants
	closeNs int64     // 20:00 UTC on date: the 4 pm New York close (summer time)
	dte     int       // calendar days from the first trade date
	monthly bool      // a third Friday
}

// listing is a set of expiries with cumulative activity weights for picking.
type listing struct {
	exps []expiry
	cum  []float64
}

// chain is the option chain of one underlying: a strike grid around its
// opening spot, for every expiry of its listing, calls and puts.
type chain struct {
	list      *listing
	lo, inc   int64 // lowest strike and strike increment, in thousandths
	n         int   // number of strikes
	contracts []*contract
}

// contract is one listed option and its market state.
type contract struct {
	sym     string // canonical OCC symbol
	strike  int64  // thousandths of a dollar
	closeNs int64
	dte     int
	monthly bool
	put     bool
	oiSent  bool

	// The last quote, prices in cents; ask is 0 before the first quote.
	bid, ask     int64
	bidSz, askSz int64
	incr         int64   // quote increment in cents
	quotedAtSpot float64 // underlying spot when last quoted
}

// listExpiries returns the next weeklies Fridays after now's UTC date and then
// the next monthlies third Fridays. All are strictly after now's date, so a
// contract never expires on the day the generator starts.
func listExpiries(now int64, weeklies, monthlies int) []expiry {
	t := time.Unix(0, now).UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	ahead := (int(time.Friday) - int(day.Weekday()) + 7) % 7
	if ahead == 0 {
		ahead = 7
	}
	exps := make([]expiry, 0, weeklies+monthlies)
	fri := day.AddDate(0, 0, ahead)
	for i := range weeklies {
		exps = append(exps, newExpiry(day, fri.AddDate(0, 0, 7*i)))
	}
	last := exps[len(exps)-1].date
	for m := 0; len(exps) < weeklies+monthlies; m++ {
		if d := thirdFriday(last.Year(), last.Month()+time.Month(m)); d.After(last) {
			exps = append(exps, newExpiry(day, d))
		}
	}
	return exps
}

func newExpiry(day, date time.Time) expiry {
	return expiry{
		date:    date,
		closeNs: date.Add(20 * time.Hour).UnixNano(),
		dte:     int(date.Sub(day).Hours()/24 + 0.5),
		monthly: date.Day() >= 15 && date.Day() <= 21,
	}
}

// thirdFriday returns the standard monthly expiry of a month; time.Date
// normalises a month past December into the next year.
func thirdFriday(year int, month time.Month) time.Time {
	first := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	off := (int(time.Friday) - int(first.Weekday()) + 7) % 7
	return first.AddDate(0, 0, off+14)
}

// thinOut keeps what quieter names list: the first two weeklies and the monthlies.
func thinOut(exps []expiry) []expiry {
	var out []expiry
	for i, e := range exps {
		if i < 2 || e.monthly {
			out = append(out, e)
		}
	}
	return out
}

// newListing weights expiries by activity: heavier for short DTE, and monthlies
// heavier than weeklies around them.
func newListing(exps []expiry) *listing {
	l := &listing{exps: exps, cum: make([]float64, len(exps))}
	sum := 0.0
	for i, e := range exps {
		w := math.Pow(float64(1+e.dte), -0.8)
		if e.monthly {
			w *= 1.5
		}
		sum += w
		l.cum[i] = sum
	}
	return l
}

// pick returns the index of the expiry for a uniform r in [0, 1).
func (l *listing) pick(r float64) int {
	x := r * l.cum[len(l.cum)-1]
	for i, c := range l.cum {
		if x < c {
			return i
		}
	}
	return len(l.cum) - 1
}

// newChain lists strikes from 70% to 130% of the opening spot: the spot walk
// stays within a few percent of it, so the money stays well inside the grid.
func (g *Generator) newChain(u *underlying) *chain {
	l := g.full
	if u.rank >= 100 {
		l = g.thin
	}
	inc := strikeIncrement(u.spot0, u.etf)
	lo := int64(math.Ceil(u.spot0*700/float64(inc))) * inc
	hi := int64(math.Floor(u.spot0*1300/float64(inc))) * inc
	n := int((hi-lo)/inc) + 1
	return &chain{list: l, lo: lo, inc: inc, n: n,
		contracts: make([]*contract, len(l.exps)*n*2)}
}

// strikeIncrement returns the strike spacing in thousandths, wider for dearer
// underlyings; index products list $1 strikes.
func strikeIncrement(spot float64, etf bool) int64 {
	switch {
	case spot < 25:
		return 500
	case spot < 100 || etf:
		return 1000
	case spot < 250:
		return 2500
	case spot < 1000:
		return 5000
	}
	return 10000
}

// pickContract chooses a contract of u, concentrating activity near the money
// (Laplace-distributed moneyness, wider for longer DTE) and on short DTE.
func (g *Generator) pickContract(u *underlying) *contract {
	ch := u.chain
	e := ch.list.pick(g.rng.Float64())
	scale := 0.012 + 0.005*math.Sqrt(float64(ch.list.exps[e].dte))
	m := scale * g.rng.ExpFloat64()
	if g.rng.IntN(2) == 0 {
		m = -m
	}
	k := ch.strikeIndex(u.spot * (1 + m))
	return ch.contract(u.root, e, k, g.rng.Float64() < 0.45)
}

// strikeIndex returns the grid strike nearest price, clamped to the grid.
func (ch *chain) strikeIndex(price float64) int {
	k := int(math.Round((price*1000 - float64(ch.lo)) / float64(ch.inc)))
	return min(max(k, 0), ch.n-1)
}

// contract returns the contract at (expiry e, strike k, right), creating it
// on first use so that only traded contracts cost memory and a symbol.
func (ch *chain) contract(root string, e, k int, put bool) *contract {
	i := (e*ch.n + k) * 2
	right := occ.Call
	if put {
		i, right = i+1, occ.Put
	}
	if c := ch.contracts[i]; c != nil {
		return c
	}
	exp := ch.list.exps[e]
	strike := ch.lo + int64(k)*ch.inc
	c := &contract{
		sym:     occ.Contract{Root: root, Expiry: exp.date, Right: right, Strike: strike}.String(),
		strike:  strike,
		closeNs: exp.closeNs,
		dte:     exp.dte,
		monthly: exp.monthly,
		put:     put,
	}
	ch.contracts[i] = c
	return c
}

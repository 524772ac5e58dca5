package synth

import (
	"math"
	"math/rand/v2"
	"strings"
)

// known is a listed name with a plausible spot price and at-the-money implied
// volatility. etf marks the index products quoted in pennies at every price
// and listed with $1 strikes.
type known struct {
	root string
	spot float64
	iv   float64
	etf  bool
}

// knownNames lead the activity ranking, roughly in order of US options volume,
// so that a synthetic tape reads like a real one. Prices are late-2025-like.
var knownNames = []known{
	{"SPY", 650, 0.15, true}, {"QQQ", 580, 0.19, true}, {"TSLA", 400, 0.60, false},
	{"NVDA", 180, 0.45, false}, {"AAPL", 240, 0.28, false}, {"AMZN", 225, 0.33, false},
	{"META", 750, 0.35, false}, {"AMD", 160, 0.50, false}, {"IWM", 240, 0.22, true},
	{"MSFT", 510, 0.25, false}, {"PLTR", 180, 0.65, false}, {"GOOGL", 240, 0.30, false},
	{"AVGO", 340, 0.45, false}, {"MSTR", 330, 0.70, false}, {"COIN", 320, 0.70, false},
	{"SMCI", 45, 0.80, false}, {"NFLX", 1200, 0.35, false}, {"HOOD", 120, 0.75, false},
	{"SOFI", 27, 0.65, false}, {"BABA", 160, 0.45, false}, {"UBER", 95, 0.40, false},
	{"INTC", 30, 0.55, false}, {"MU", 160, 0.55, false}, {"GLD", 330, 0.18, true},
	{"SLV", 40, 0.30, true}, {"TLT", 88, 0.14, true}, {"XLF", 52, 0.18, true},
	{"SMH", 300, 0.32, true}, {"DIA", 460, 0.14, true}, {"F", 12, 0.35, false},
	{"BAC", 50, 0.27, false}, {"GOOG", 241, 0.30, false}, {"ORCL", 290, 0.50, false},
	{"JPM", 300, 0.25, false}, {"ARKK", 80, 0.40, true}, {"XLE", 88, 0.24, true},
	{"HYG", 80, 0.08, true}, {"EEM", 50, 0.18, true}, {"FXI", 38, 0.30, true},
	{"KRE", 62, 0.28, true}, {"MARA", 17, 0.80, false}, {"RIOT", 15, 0.85, false},
	{"NIO", 6, 0.75, false}, {"RIVN", 13, 0.65, false}, {"PYPL", 68, 0.40, false},
	{"DIS", 115, 0.28, false}, {"LLY", 760, 0.35, false}, {"UNH", 350, 0.40, false},
	{"BA", 220, 0.35, false}, {"XOM", 115, 0.24, false}, {"CVX", 155, 0.24, false},
	{"WMT", 100, 0.22, false}, {"COST", 950, 0.22, false}, {"CRM", 250, 0.35, false},
	{"SHOP", 150, 0.55, false}, {"SNOW", 220, 0.50, false}, {"ADBE", 350, 0.35, false},
	{"PFE", 25, 0.28, false}, {"T", 28, 0.22, false}, {"KO", 68, 0.16, false},
	{"C", 95, 0.28, false}, {"WFC", 80, 0.27, false}, {"GS", 780, 0.30, false},
	{"V", 340, 0.22, false}, {"MA", 570, 0.22, false}, {"CSCO", 70, 0.25, false},
}

// Random walk of the log spot, per event of the underlying: a mean-reverting
// (Ornstein-Uhlenbeck) step keeps a long run near the opening price. With this
// reversion the stationary spread of the walk is about one daily move,
// iv/sqrt(252), for stepScale = 0.063 * sqrt(2 * revert).
const (
	revert    = 1e-4
	stepScale = 0.00089
)

// underlying is one root and its market state.
type underlying struct {
	root  string
	rank  int     // 0 for the busiest
	spot0 float64 // opening price, which the walk reverts to
	spot  float64
	drift float64 // log(spot / spot0)
	sigma float64 // standard deviation of one step of the log spot
	iv    float64 // at-the-money implied volatility
	liq   float64 // depth and open interest relative to the busiest name
	wide  float64 // spread multiplier, 1 for the busiest name
	etf   bool
	sent  float64 // spot in the last spot tick, 0 before the first
	since int     // steps since the last spot tick
	every int     // steps between spot ticks, unless the spot moves first
	chain *chain  // built on the first event
}

// newUniverse returns n underlyings by activity: the known names, then
// generated ones.
func newUniverse(rng *rand.Rand, n int) []*underlying {
	taken := make(map[string]bool, n+len(knownNames))
	for _, k := range knownNames {
		taken[k.root] = true
	}
	unds := make([]*underlying, n)
	for i := range unds {
		var k known
		if i < len(knownNames) {
			k = knownNames[i]
		} else {
			k = generated(rng, taken)
			taken[k.root] = true
		}
		unds[i] = newUnderlying(rng, i, k)
	}
	return unds
}

func newUnderlying(rng *rand.Rand, rank int, k known) *underlying {
	spot0 := cents(k.spot * (1 + 0.03*(2*rng.Float64()-1)))
	return &underlying{
		root:  k.root,
		rank:  rank,
		spot0: spot0,
		spot:  spot0,
		sigma: k.iv * stepScale,
		iv:    k.iv,
		liq:   math.Pow(float64(rank+1), -0.8),
		wide:  1 + 0.5*math.Log1p(float64(rank)),
		etf:   k.etf,
	}
}

// generated returns a name with an unused 1-5 letter root, a spot between $5
// and $500 (uniform in log) and a single-stock-like volatility.
func generated(rng *rand.Rand, taken map[string]bool) known {
	root := randomRoot(rng)
	for taken[root] {
		root = randomRoot(rng)
	}
	spot := math.Exp(math.Log(5) + rng.Float64()*math.Log(100))
	return known{root: root, spot: spot, iv: 0.25 + 0.6*rng.Float64()}
}

// rootLens weights the root lengths 1-5 (cumulative, per thousand): mostly 3
// and 4 letters, as on US exchanges.
var rootLens = [...]int{20, 150, 550, 950, 1000}

func randomRoot(rng *rand.Rand) string {
	r, n := rng.IntN(1000), 1
	for r >= rootLens[n-1] {
		n++
	}
	var b strings.Builder
	for range n {
		b.WriteByte(byte('A' + rng.IntN(26)))
	}
	return b.String()
}

// step moves the spot one event along its walk.
func (u *underlying) step(rng *rand.Rand) {
	u.drift += -revert*u.drift + u.sigma*rng.NormFloat64()
	u.spot = u.spot0 * math.Exp(u.drift)
	u.since++
}

// spotDue reports whether a spot tick is owed: before the first option tick,
// every few dozen events, and when the spot has moved a quarter percent.
func (u *underlying) spotDue() bool {
	return u.sent == 0 || u.since >= u.every || math.Abs(u.spot/u.sent-1) > 0.0025
}

func cents(v float64) float64 { return math.Round(v*100) / 100 }

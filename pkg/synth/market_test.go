package synth

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/tick"
)

// tape is a run of ticks with the NBBO each trade printed against.
type tape struct {
	ticks []tick.Tick
	nbbo  []tick.Tick // for a trade, the last quote of its symbol; else zero
}

func record(tb testing.TB, cfg Config, n int) *tape {
	tb.Helper()
	tp := &tape{}
	last := map[string]tick.Tick{}
	run(tb, cfg, n, func(_ int64, t tick.Tick) {
		var q tick.Tick
		switch t.Type {
		case tick.Quote:
			last[t.Symbol] = t
		case tick.Trade:
			q = last[t.Symbol]
		}
		tp.ticks = append(tp.ticks, t)
		tp.nbbo = append(tp.nbbo, q)
	})
	return tp
}

// shared is one long default run, recorded once for the distribution tests.
var shared *tape

func sharedTape(tb testing.TB) *tape {
	tb.Helper()
	if shared == nil {
		shared = record(tb, Config{Seed: 42}, 200000)
	}
	return shared
}

func TestQuotesAreMajority(t *testing.T) {
	counts := map[tick.Type]int{}
	tp := sharedTape(t)
	for _, tk := range tp.ticks {
		counts[tk.Type]++
	}
	share := float64(counts[tick.Quote]) / float64(len(tp.ticks))
	t.Logf("counts %v, quote share %.3f", counts, share)
	if share < 0.55 || share > 0.8 {
		t.Errorf("quote share %.3f outside [0.55, 0.8]", share)
	}
	if counts[tick.Trade] < len(tp.ticks)/10 || counts[tick.Spot] == 0 {
		t.Errorf("too few trades or no spot ticks: %v", counts)
	}
}

func TestActivitySkew(t *testing.T) {
	per := map[string]int{}
	for _, tk := range sharedTape(t).ticks {
		per[tk.Underlying]++
	}
	counts := make([]int, 0, len(per))
	for _, n := range per {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	median, top := counts[len(counts)/2], counts[len(counts)-1]
	t.Logf("%d underlyings seen, SPY %d, top %d, median %d", len(per), per["SPY"], top, median)
	if per["SPY"] != top || top < 20*median {
		t.Errorf("SPY %d, top %d, median %d: want SPY busiest, 20x the median", per["SPY"], top, median)
	}
}

// side classifies a trade price against the NBBO it printed against.
func side(price float64, q tick.Tick) string {
	mid := (q.Bid + q.Ask) / 2
	switch {
	case price > q.Ask:
		return "AA"
	case price == q.Ask:
		return "A"
	case price < q.Bid:
		return "BB"
	case price == q.Bid:
		return "B"
	case price == mid:
		return "mid"
	}
	return "between"
}

func TestTradesAgainstNBBO(t *testing.T) {
	tp := sharedTape(t)
	counts, total := map[string]int{}, 0
	for i, tk := range tp.ticks {
		if tk.Type != tick.Trade || isISO(tk) {
			continue
		}
		q := tp.nbbo[i]
		if q.Type != tick.Quote {
			t.Fatalf("trade %+v before any quote of its symbol", tk)
		}
		counts[side(tk.Price, q)]++
		total++
	}
	share := func(keys ...string) float64 {
		n := 0
		for _, k := range keys {
			n += counts[k]
		}
		return float64(n) / float64(total)
	}
	t.Logf("%d trades: %v", total, counts)
	checks := []struct {
		name     string
		got      float64
		min, max float64
	}{
		{"inside [bid, ask]", share("A", "B", "mid", "between"), 0.9, 0.995},
		{"outside", share("AA", "BB"), 0.005, 0.1},
		{"at the ask", share("A"), 0.2, 0.6},
		{"at the bid", share("B"), 0.15, 0.5},
		{"strictly between", share("mid", "between"), 0.05, 0.4},
		{"exactly mid", share("mid"), 0.01, 0.2},
	}
	for _, c := range checks {
		if c.got < c.min || c.got > c.max {
			t.Errorf("%s: share %.3f outside [%v, %v]", c.name, c.got, c.min, c.max)
		}
	}
}

func isISO(t tick.Tick) bool {
	return t.Type == tick.Trade && slices.Contains(t.Conditions, "ISOI")
}

// sweeps returns the runs of consecutive ISO trades of one symbol, as indexes.
func sweeps(tp *tape) [][]int {
	var out [][]int
	for i, tk := range tp.ticks {
		prev := i > 0 && isISO(tp.ticks[i-1]) && tp.ticks[i-1].Symbol == tk.Symbol
		switch {
		case !isISO(tk):
		case prev:
			out[len(out)-1] = append(out[len(out)-1], i)
		default:
			out = append(out, []int{i})
		}
	}
	return out
}

func TestSweeps(t *testing.T) {
	tp := sharedTape(t)
	all := sweeps(tp)
	if len(all) < 50 {
		t.Fatalf("%d sweeps in %d ticks, want 50 or more", len(all), len(tp.ticks))
	}
	for _, sw := range all {
		checkSweep(t, tp, sw)
	}
}

func checkSweep(tb testing.TB, tp *tape, sw []int) {
	tb.Helper()
	if len(sw) < 2 || len(sw) > 6 {
		tb.Fatalf("sweep of %d fills at tick %d", len(sw), sw[0])
	}
	q := tp.nbbo[sw[0]]
	buy := tp.ticks[sw[0]].Price >= q.Ask
	venues := map[string]bool{}
	for k, i := range sw {
		f := tp.ticks[i]
		if venues[f.Exchange] {
			tb.Errorf("sweep at tick %d fills %s twice", sw[0], f.Exchange)
		}
		venues[f.Exchange] = true
		if (buy && f.Price < q.Ask) || (!buy && f.Price > q.Bid) || tp.nbbo[i].TS != q.TS {
			tb.Errorf("fill %+v not on the same side of %+v", f, q)
		}
		if k == 0 {
			continue
		}
		if gap := f.TS - tp.ticks[i-1].TS; gap < 0 || gap > 5*int64(time.Millisecond) {
			tb.Errorf("fill %d of sweep at tick %d comes %v after the previous",
				k, sw[0], time.Duration(gap))
		}
	}
}

func TestBlocks(t *testing.T) {
	tp := sharedTape(t)
	blocks := 0
	for _, tk := range tp.ticks {
		premium := tk.Price * float64(tk.Size) * 100
		if tk.Type == tick.Trade && !isISO(tk) && (tk.Size >= 500 || premium >= 100_000) {
			blocks++
		}
	}
	if blocks < 10 {
		t.Errorf("%d blocks, want 10 or more", blocks)
	}
}

func TestFirstTicksOfContracts(t *testing.T) {
	tp := sharedTape(t)
	seen := map[string]tick.Type{} // the first tick types in order: oi, quote, trade
	spot := map[string]bool{}
	for _, tk := range tp.ticks {
		if tk.Type == tick.Spot {
			spot[tk.Underlying] = true
			continue
		}
		if !spot[tk.Underlying] {
			t.Fatalf("%s tick for %s before its first spot tick", tk.Type, tk.Underlying)
		}
		prev, ok := seen[tk.Symbol]
		switch {
		case tk.Type == tick.OpenInterest && ok:
			t.Fatalf("second oi tick for %s", tk.Symbol)
		case tk.Type != tick.OpenInterest && !ok:
			t.Fatalf("%s tick for %s before its oi tick", tk.Type, tk.Symbol)
		case tk.Type == tick.Trade && prev == tick.OpenInterest:
			t.Fatalf("trade of %s before its first quote", tk.Symbol)
		}
		if !ok || prev == tick.OpenInterest {
			seen[tk.Symbol] = tk.Type
		}
	}
}

func TestNearTheMoneyShortDated(t *testing.T) {
	tp := sharedTape(t)
	spot := map[string]float64{}
	var otm []float64
	dte := map[int]int{}
	for _, tk := range tp.ticks {
		if tk.Type == tick.Spot {
			spot[tk.Underlying] = tk.Price
		}
		if tk.Type != tick.Trade {
			continue
		}
		c, _ := occ.Parse(tk.Symbol)
		otm = append(otm, math.Abs(c.StrikePrice()/spot[tk.Underlying]-1))
		dte[int(c.Expiry.Sub(time.Unix(0, start)).Hours()/24/7)]++
	}
	slices.Sort(otm)
	median := otm[len(otm)/2]
	firstWeeks := float64(dte[0]+dte[1]) / float64(len(otm))
	t.Logf("median |strike/spot-1| %.4f, share expiring within two weeks %.3f", median, firstWeeks)
	if median > 0.05 {
		t.Errorf("median distance from the money %.3f, want under 5%%", median)
	}
	if firstWeeks < 0.4 {
		t.Errorf("share of trades expiring within two weeks %.3f, want 0.4 or more", firstWeeks)
	}
}

func TestSpotPrices(t *testing.T) {
	want := map[string][2]float64{"SPY": {600, 700}, "TSLA": {330, 470}, "NVDA": {150, 210}}
	n := 0
	for _, tk := range sharedTape(t).ticks {
		r, ok := want[tk.Underlying]
		if tk.Type != tick.Spot || !ok {
			continue
		}
		n++
		if tk.Price < r[0] || tk.Price > r[1] {
			t.Errorf("%s spot %v outside %v", tk.Underlying, tk.Price, r)
		}
	}
	if n < 30 {
		t.Errorf("%d spot ticks for %d names, want more", n, len(want))
	}
}

package watch

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFilterWants(t *testing.T) {
	one, seven, thirty := int32(1), int32(7), int32(30)
	trade := Attrs{Underlying: "AAPL", Kind: "trade", Side: "A", Sentiment: "bullish", Right: "C",
		Premium: 25_000, Score: 40, DTE: 7, Flags: []string{"iso", "unusual"}}
	cancel := Attrs{Underlying: "AAPL", Kind: "cancel"}
	spy := trade
	spy.Underlying = "SPY"
	aapl := []string{"AAPL"}
	for _, tc := range []struct {
		name string
		f    Filter
		e    Attrs
		want bool
	}{
		{"listed underlying", Filter{Symbols: []string{"TSLA", "AAPL"}}, trade, true},
		{"unlisted underlying", Filter{Symbols: aapl}, spy, false},
		{"kind listed", Filter{Symbols: aapl, Kinds: []string{"sweep", "trade"}},
			trade, true},
		{"kind not listed", Filter{Symbols: aapl, Kinds: []string{"sweep"}}, trade, false},
		{"premium at the minimum", Filter{Symbols: aapl, MinPremium: 25_000}, trade, true},
		{"premium below", Filter{Symbols: aapl, MinPremium: 25_000.01}, trade, false},
		{"score at the minimum", Filter{Symbols: aapl, MinScore: 40}, trade, true},
		{"score below", Filter{Symbols: aapl, MinScore: 41}, trade, false},
		{"side listed", Filter{Symbols: aapl, Sides: []string{"AA", "A"}}, trade, true},
		{"side not listed", Filter{Symbols: aapl, Sides: []string{"B"}}, trade, false},
		{"sentiment not listed", Filter{Symbols: aapl, Sentiments: []string{"bearish"}},
			trade, false},
		{"right not listed", Filter{Symbols: aapl, Rights: []string{"P"}}, trade, false},
		{"dte range includes both ends", Filter{Symbols: aapl, DTEMin: &seven, DTEMax: &seven},
			trade, true},
		{"dte above max", Filter{Symbols: aapl, DTEMax: &one}, trade, false},
		{"dte below min", Filter{Symbols: aapl, DTEMin: &thirty}, trade, false},
		{"all flags present", Filter{Symbols: aapl, Flags: []string{"unusual", "iso"}},
			trade, true},
		{"one flag missing", Filter{Symbols: aapl, Flags: []string{"iso", "golden"}},
			trade, false},
		{"cancel passes all but symbols", Filter{Symbols: aapl, Kinds: []string{"sweep"},
			MinPremium: 1e6, MinScore: 90, Rights: []string{"P"}, DTEMin: &thirty,
			Flags: []string{"golden"}}, cancel, true},
		{"cancel of an unlisted underlying", Filter{Symbols: []string{"SPY"}}, cancel, false},
	} {
		if got := tc.f.Wants(&tc.e); got != tc.want {
			t.Errorf("%s: wants = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMixSharesAndProfiles(t *testing.T) {
	for name, mix := range map[string][]Profile{"Mix": Mix, "Notable": Notable} {
		if len(mix) > 8 {
			t.Fatalf("%s: %d profiles; callers keep one bit each in a uint8", name, len(mix))
		}
		sum := 0.0
		for _, p := range mix {
			sum += p.Share
			f := p.Make([]string{"AAPL"})
			if len(f.Symbols) != 1 {
				t.Errorf("%s: a profile's filter does not keep its symbols", name)
			}
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("%s: shares add up to %v, want 1", name, sum)
		}
		const n = 10_000
		count := make([]int, len(mix))
		for i := range n {
			count[ProfileOf(mix, i)]++
		}
		for j, p := range mix {
			if got := float64(count[j]) / n; math.Abs(got-p.Share) > 0.002 {
				t.Errorf("%s: profile %d: %.4f of clients, want %.2f", name, j, got, p.Share)
			}
		}
		// The first clients to connect already carry every profile.
		seen := map[int]bool{}
		for i := range 50 {
			seen[ProfileOf(mix, i)] = true
		}
		if len(seen) != len(mix) {
			t.Errorf("%s: the first 50 clients have %d of the %d profiles", name, len(seen), len(mix))
		}
	}
}

func TestDescribe(t *testing.T) {
	dte := int32(30)
	for _, tc := range []struct {
		f    Filter
		want string
	}{
		{Filter{}, "symbols only"},
		{Filter{MinPremium: 10_000, MinScore: 40}, "min_premium 10000, min_score 40"},
		{Filter{Rights: []string{"C"}, DTEMax: &dte, Flags: []string{"iso", "golden"}},
			"rights C, dte_max 30, flags iso,golden"},
	} {
		if got := Describe(&tc.f); got != tc.want {
			t.Errorf("describe = %q, want %q", got, tc.want)
		}
	}
}

func TestWatchlist(t *testing.T) {
	counts := []int{1000, 100, 10, 1, 1, 1, 1, 1, 1, 1}
	rng := rand.New(rand.NewPCG(1, 2))
	on := make([]int, len(counts))
	for range 2000 {
		w := Watchlist(rng, counts, 4, 0.5)
		if len(w) != 4 {
			t.Fatalf("watchlist of %d names, want 4", len(w))
		}
		for i, u := range w {
			if i > 0 && u <= w[i-1] {
				t.Fatalf("watchlist %v is not sorted and distinct", w)
			}
			on[u]++
		}
	}
	if !(on[0] > on[1] && on[1] > on[2] && on[2] > on[9]) {
		t.Errorf("busier names are not drawn more often: %v", on)
	}
	// All names drawn: every watchlist holds every name once.
	if w := Watchlist(rng, counts, len(counts), 1); len(w) != len(counts) || w[0] != 0 || w[9] != 9 {
		t.Errorf("watchlist of all names = %v", w)
	}
}

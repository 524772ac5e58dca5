package edge

import (
	"strings"
	"testing"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

func i32(v int32) *int32 { return &v }

func TestFilterWants(t *testing.T) {
	sweep := &hub.Event{Underlying: "AAPL", Kind: "sweep", Side: "AA", Sentiment: "bullish", Right: "C",
		Premium: 250_000, Score: 70, DTE: 3, Flags: []string{"golden", "iso"}}
	tests := []struct {
		name string
		f    filter.Filter
		want bool
	}{
		{"symbols only", filter.Filter{}, true},
		{"kind listed", filter.Filter{Kinds: []string{"block", "sweep"}}, true},
		{"kind not listed", filter.Filter{Kinds: []string{"block"}}, false},
		{"premium at the minimum", filter.Filter{MinPremium: 250_000}, true},
		{"premium below", filter.Filter{MinPremium: 250_001}, false},
		{"score below", filter.Filter{MinScore: 71}, false},
		{"side", filter.Filter{Sides: []string{"A", "AA"}}, true},
		{"other side", filter.Filter{Sides: []string{"B"}}, false},
		{"sentiment", filter.Filter{Sentiments: []string{"bearish"}}, false},
		{"puts only", filter.Filter{Rights: []string{"P"}}, false},
		{"DTE in range", filter.Filter{DTEMin: i32(0), DTEMax: i32(7)}, true},
		{"DTE above range", filter.Filter{DTEMax: i32(2)}, false},
		{"DTE below range", filter.Filter{DTEMin: i32(4)}, false},
		{"all flags present", filter.Filter{Flags: []string{"golden", "iso"}}, true},
		{"a flag missing", filter.Filter{Flags: []string{"golden", "unusual"}}, false},
	}
	for _, tt := range tests {
		tt.f.Symbols = []string{"aapl"}
		sub, err := newSubscription("s", &tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := sub.wants(sweep); got != tt.want {
			t.Errorf("%s: wants = %v, want %v", tt.name, got, tt.want)
		}
	}

	sub, _ := newSubscription("s", &filter.Filter{Symbols: []string{"AAPL"}, Kinds: []string{"sweep"}, MinScore: 90})
	if !sub.wants(&hub.Event{Underlying: "AAPL", Kind: "cancel"}) {
		t.Error("a cancel of a watched underlying must pass a kind and score filter")
	}
	if sub.wants(&hub.Event{Underlying: "MSFT", Kind: "cancel"}) {
		t.Error("a cancel of an unwatched underlying passed")
	}
}

func TestFilterRejects(t *testing.T) {
	tests := map[string]filter.Filter{
		"kinds":     {Kinds: []string{"sweeps"}},
		"sides":     {Sides: []string{"ask"}},
		"sentiment": {Sentiments: []string{"happy"}},
		"rights":    {Rights: []string{"call"}},
		"flags":     {Flags: []string{"gold"}},
		"premium":   {MinPremium: -1},
		"score":     {MinScore: 101},
		"dte_min":   {DTEMin: i32(-1)},
		"dte_max":   {DTEMin: i32(10), DTEMax: i32(5)},
	}
	for name, f := range tests {
		f.Symbols = []string{"AAPL"}
		if _, err := newSubscription("s", &f); err == nil || !strings.Contains(err.Error(), strings.Split(name, " ")[0]) {
			t.Errorf("%s: newSubscription = %v, want an error naming it", name, err)
		}
	}
	sub, err := newSubscription("s", &filter.Filter{Symbols: []string{"*"}})
	if err != nil || !sub.firehose || !sub.wants(&hub.Event{Underlying: "ANY"}) {
		t.Errorf("whole feed: %+v, %v; want a subscription to every underlying", sub, err)
	}
}

// BenchmarkWantsRouted is the test Send makes per event and client: it must
// not allocate.
func BenchmarkWantsRouted(b *testing.B) {
	ev := &hub.Event{Underlying: "AAPL", Kind: "sweep", Side: "AA", Sentiment: "bullish", Right: "C",
		Premium: 250_000, Score: 70, DTE: 3, Flags: []string{"golden", "iso"}}
	for _, bc := range []struct {
		name string
		f    filter.Filter
	}{
		{"symbols only", filter.Filter{Symbols: []string{"AAPL"}}},
		{"every condition", filter.Filter{Symbols: []string{"AAPL"}, Kinds: []string{"block", "sweep"},
			MinPremium: 100_000, MinScore: 50, Sides: []string{"A", "AA"}, Sentiments: []string{"bullish"},
			Rights: []string{"C"}, DTEMin: i32(0), DTEMax: i32(7), Flags: []string{"golden"}}},
	} {
		sub, err := newSubscription("s", &bc.f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !sub.wantsRouted(ev) {
					b.Fatal("the event does not pass")
				}
			}
		})
	}
}

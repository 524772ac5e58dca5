package edge

import (
	"strings"
	"testing"

	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

func i32(v int32) *int32 { return &v }

func TestFilterWants(t *testing.T) {
	sweep := &hub.Event{Underlying: "AAPL", Kind: "sweep", Side: "AA", Sentiment: "bullish", Right: "C",
		Premium: 250_000, Score: 70, DTE: 3, Flags: []string{"golden", "iso"}}
	tests := []struct {
		name string
		f    filter
		want bool
	}{
		{"symbols only", filter{}, true},
		{"kind listed", filter{Kinds: []string{"block", "sweep"}}, true},
		{"kind not listed", filter{Kinds: []string{"block"}}, false},
		{"premium at the minimum", filter{MinPremium: 250_000}, true},
		{"premium below", filter{MinPremium: 250_001}, false},
		{"score below", filter{MinScore: 71}, false},
		{"side", filter{Sides: []string{"A", "AA"}}, true},
		{"other side", filter{Sides: []string{"B"}}, false},
		{"sentiment", filter{Sentiments: []string{"bearish"}}, false},
		{"puts only", filter{Rights: []string{"P"}}, false},
		{"DTE in range", filter{DTEMin: i32(0), DTEMax: i32(7)}, true},
		{"DTE above range", filter{DTEMax: i32(2)}, false},
		{"DTE below range", filter{DTEMin: i32(4)}, false},
		{"all flags present", filter{Flags: []string{"golden", "iso"}}, true},
		{"a flag missing", filter{Flags: []string{"golden", "unusual"}}, false},
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

	sub, _ := newSubscription("s", &filter{Symbols: []string{"AAPL"}, Kinds: []string{"sweep"}, MinScore: 90})
	if !sub.wants(&hub.Event{Underlying: "AAPL", Kind: "cancel"}) {
		t.Error("a cancel of a watched underlying must pass a kind and score filter")
	}
	if sub.wants(&hub.Event{Underlying: "MSFT", Kind: "cancel"}) {
		t.Error("a cancel of an unwatched underlying passed")
	}
}

func TestFilterRejects(t *testing.T) {
	tests := map[string]filter{
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
	sub, err := newSubscription("s", &filter{Symbols: []string{"*"}})
	if err != nil || !sub.firehose || !sub.wants(&hub.Event{Underlying: "ANY"}) {
		t.Errorf("whole feed: %+v, %v; want a subscription to every underlying", sub, err)
	}
}

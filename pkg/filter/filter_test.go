package filter

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func i32(v int32) *int32 { return &v }

func TestMatch(t *testing.T) {
	sweep := &Event{Underlying: "AAPL", Kind: "sweep", Side: "AA", Sentiment: "bullish", Right: "C",
		Premium: 250_000, Score: 70, DTE: 3, Flags: []string{"golden", "iso"}}
	tests := []struct {
		name string
		f    Filter
		want bool
	}{
		{"symbols only", Filter{}, true},
		{"kind listed", Filter{Kinds: []string{"block", "sweep"}}, true},
		{"kind not listed", Filter{Kinds: []string{"block"}}, false},
		{"premium at the minimum", Filter{MinPremium: 250_000}, true},
		{"premium below", Filter{MinPremium: 250_001}, false},
		{"score at the minimum", Filter{MinScore: 70}, true},
		{"score below", Filter{MinScore: 71}, false},
		{"side", Filter{Sides: []string{"A", "AA"}}, true},
		{"other side", Filter{Sides: []string{"B"}}, false},
		{"sentiment", Filter{Sentiments: []string{"bearish"}}, false},
		{"calls", Filter{Rights: []string{"C"}}, true},
		{"puts only", Filter{Rights: []string{"P"}}, false},
		{"DTE in range", Filter{DTEMin: i32(0), DTEMax: i32(7)}, true},
		{"DTE at both ends", Filter{DTEMin: i32(3), DTEMax: i32(3)}, true},
		{"DTE above range", Filter{DTEMax: i32(2)}, false},
		{"DTE below range", Filter{DTEMin: i32(4)}, false},
		{"all flags present", Filter{Flags: []string{"golden", "iso"}}, true},
		{"a flag missing", Filter{Flags: []string{"golden", "unusual"}}, false},
	}
	for _, tt := range tests {
		tt.f.Symbols = []string{"aapl"}
		m, err := Compile(&tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := m.Match(sweep); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.name, got, tt.want)
		}
		if got := m.MatchRouted(sweep); got != tt.want {
			t.Errorf("%s: MatchRouted = %v, want %v", tt.name, got, tt.want)
		}
		if other := (Event{Underlying: "MSFT", Kind: "sweep"}); m.Match(&other) {
			t.Errorf("%s: matched an underlying the filter does not name", tt.name)
		}
	}

	m, _ := Compile(&Filter{Symbols: []string{"AAPL"}, Kinds: []string{"sweep"}, MinScore: 90})
	if !m.Match(&Event{Underlying: "AAPL", Kind: "cancel"}) {
		t.Error("a cancel of a named underlying must pass a kind and score filter")
	}
	if m.Match(&Event{Underlying: "MSFT", Kind: "cancel"}) {
		t.Error("a cancel of another underlying passed")
	}
}

func TestCompileRejects(t *testing.T) {
	tests := map[string]Filter{
		"kinds":      {Kinds: []string{"sweeps"}},
		"sides":      {Sides: []string{"ask"}},
		"sentiments": {Sentiments: []string{"happy"}},
		"rights":     {Rights: []string{"call"}},
		"flags":      {Flags: []string{"gold"}},
		"premium":    {MinPremium: -1},
		"score":      {MinScore: 101},
		"dte_min":    {DTEMin: i32(-1)},
		"dte_max":    {DTEMin: i32(10), DTEMax: i32(5)},
		"symbols":    {Symbols: []string{}},
		"whole feed": {Symbols: []string{"*", "AAPL"}},
	}
	for name, f := range tests {
		if f.Symbols == nil {
			f.Symbols = []string{"AAPL"}
		}
		if _, err := Compile(&f); err == nil || !strings.Contains(err.Error(), strings.Split(name, " ")[0]) {
			t.Errorf("%s: Compile = %v, want an error naming it", name, err)
		}
	}
	if _, err := Compile(nil); err != ErrMissing {
		t.Errorf("Compile(nil) = %v, want ErrMissing", err)
	}
}

func TestCompileNormalizes(t *testing.T) {
	in := Filter{Symbols: []string{"spy", "SPY", "qqq"}, Kinds: []string{"sweep"}}
	m, err := Compile(&in)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Symbols(), []string{"SPY", "QQQ"}) || !slices.Equal(m.Filter().Symbols, m.Symbols()) {
		t.Errorf("symbols = %q, filter %q; want [SPY QQQ]", m.Symbols(), m.Filter().Symbols)
	}
	if !slices.Equal(in.Symbols, []string{"spy", "SPY", "qqq"}) {
		t.Errorf("Compile modified its input to %q", in.Symbols)
	}
	if m.Firehose() || m.SymbolsOnly() {
		t.Errorf("firehose %v, symbols only %v; want neither", m.Firehose(), m.SymbolsOnly())
	}
	all, err := Compile(&Filter{Symbols: []string{"*"}})
	if err != nil || !all.Firehose() || !all.SymbolsOnly() || !all.Match(&Event{Underlying: "ANY", Kind: "trade"}) {
		t.Errorf("whole feed: %+v, %v; want a filter passing every underlying", all, err)
	}
	if m, _ := Compile(&Filter{Symbols: []string{"A"}, DTEMin: i32(0)}); m.SymbolsOnly() {
		t.Error("a filter with dte_min 0 reported no condition")
	}
}

// TestJSON checks the wire names clients use.
func TestJSON(t *testing.T) {
	var f Filter
	in := `{"symbols":["spy"],"kinds":["block"],"min_premium":5e4,"min_score":40,"sides":["A"],` +
		`"sentiments":["bullish"],"rights":["C"],"dte_min":0,"dte_max":30,"flags":["iso"]}`
	if err := json.Unmarshal([]byte(in), &f); err != nil {
		t.Fatal(err)
	}
	m, err := Compile(&f)
	if err != nil {
		t.Fatal(err)
	}
	ev := Event{Underlying: "SPY", Kind: "block", Side: "A", Sentiment: "bullish", Right: "C",
		Premium: 50_000, Score: 40, DTE: 30, Flags: []string{"iso"}}
	if !m.Match(&ev) {
		t.Errorf("%s did not match %+v", in, ev)
	}
	out, _ := json.Marshal(m.Filter())
	if want := strings.Replace(strings.Replace(in, "spy", "SPY", 1), "5e4", "50000", 1); string(out) != want {
		t.Errorf("normalized filter encodes as\n%s\nwant\n%s", out, want)
	}
}

// FuzzCompile checks that no filter a client can send makes Compile panic,
// and that an accepted one holds normalized symbols and matches an event
// of its first underlying only if its other conditions allow.
func FuzzCompile(f *testing.F) {
	f.Add(`{"symbols":["aapl"],"kinds":["sweep"],"min_premium":1e5}`)
	f.Add(`{"symbols":["*"],"dte_min":3,"dte_max":1}`)
	f.Add(`{"symbols":["SPY"],"flags":["golden","iso"],"sides":["AA"]}`)
	f.Fuzz(func(t *testing.T, in string) {
		var flt Filter
		if json.Unmarshal([]byte(in), &flt) != nil {
			return
		}
		m, err := Compile(&flt)
		if err != nil {
			return
		}
		for _, s := range m.Symbols() {
			if _, ok := Root(s); !ok && s != "*" {
				t.Fatalf("Compile(%s) kept symbol %q", in, s)
			}
		}
		ev := Event{Underlying: m.Symbols()[0], Kind: "cancel"}
		if !m.Match(&ev) {
			t.Fatalf("Compile(%s) does not pass a cancel of %q", in, ev.Underlying)
		}
		ev.Kind = "trade"
		if m.SymbolsOnly() && !m.Match(&ev) {
			t.Fatalf("Compile(%s) has no condition but refuses %+v", in, ev)
		}
	})
}

func BenchmarkMatchRouted(b *testing.B) {
	ev := &Event{Underlying: "AAPL", Kind: "sweep", Side: "AA", Sentiment: "bullish", Right: "C",
		Premium: 250_000, Score: 70, DTE: 3, Flags: []string{"golden", "iso"}}
	m, err := Compile(&Filter{Symbols: []string{"AAPL"}, Kinds: []string{"block", "sweep"},
		MinPremium: 100_000, MinScore: 50, Sides: []string{"A", "AA"}, Sentiments: []string{"bullish"},
		Rights: []string{"C"}, DTEMin: i32(0), DTEMax: i32(7), Flags: []string{"golden"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !m.MatchRouted(ev) {
			b.Fatal("the event does not pass")
		}
	}
}

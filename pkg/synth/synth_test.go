package synth

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/tick"
)

// start is a Wednesday during the US session.
var start = time.Date(2026, 3, 4, 14, 30, 0, 0, time.UTC).UnixNano()

// step is the caller's clock between calls: 50K ticks a second.
const step = 20_000

// run feeds n ticks of a new generator for cfg to fn, with the time handed in.
func run(tb testing.TB, cfg Config, n int, fn func(now int64, t tick.Tick)) *Generator {
	tb.Helper()
	g, err := New(cfg)
	if err != nil {
		tb.Fatalf("New(%+v): %v", cfg, err)
	}
	now := start
	for range n {
		fn(now, g.Next(now))
		now += step
	}
	return g
}

func collectTicks(tb testing.TB, cfg Config, n int) []tick.Tick {
	tb.Helper()
	out := make([]tick.Tick, 0, n)
	run(tb, cfg, n, func(_ int64, t tick.Tick) { out = append(out, t) })
	return out
}

func TestDeterminism(t *testing.T) {
	tests := []struct {
		name string
		a, b Config
		same bool
	}{
		{"same seed", Config{Seed: 7}, Config{Seed: 7}, true},
		{"zero seed means 1", Config{}, Config{Seed: 1}, true},
		{"different seed", Config{Seed: 7}, Config{Seed: 8}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := collectTicks(t, tt.a, 20000), collectTicks(t, tt.b, 20000)
			if got := reflect.DeepEqual(a, b); got != tt.same {
				t.Errorf("sequences equal = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestEveryTickValid(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		n    int
	}{
		{"default", Config{}, 200000},
		{"many names", Config{Underlyings: MaxUnderlyings, Seed: -5}, 50000},
		{"all sweeps", Config{SweepProb: 1, QuoteProb: 0.1}, 50000},
		{"all blocks", Config{BlockProb: 1, QuoteProb: 0.1}, 50000},
		{"long chains, skewed", Config{Weeklies: 52, Monthlies: 24, Skew: 3}, 50000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkValid(t, tt.cfg, tt.n) })
	}
}

func checkValid(tb testing.TB, cfg Config, n int) {
	tb.Helper()
	last := int64(0)
	run(tb, cfg, n, func(now int64, tk tick.Tick) {
		if err := tk.Validate(); err != nil {
			tb.Fatalf("invalid tick %+v: %v", tk, err)
		}
		if tk.Conditions == nil {
			tb.Fatalf("nil conditions in %+v", tk)
		}
		// A sweep's later fills keep their own clock, a few ms apart; every other
		// tick is stamped no earlier than the time handed in.
		if tk.TS < last || (tk.TS < now && !isISO(tk)) {
			tb.Fatalf("%s ts %d before now %d or previous ts %d", tk.Type, tk.TS, now, last)
		}
		last = tk.TS
		if tk.Type == tick.Spot {
			return
		}
		c, err := occ.Parse(tk.Symbol)
		if err != nil || c.String() != tk.Symbol || c.Root != tk.Underlying {
			tb.Fatalf("symbol %q not canonical for %q: %v", tk.Symbol, tk.Underlying, err)
		}
	})
	// At the default sweep rate the stream must not run away from the caller's
	// clock (with every trade a sweep it may, by design).
	end := start + int64(n)*step
	if cfg.SweepProb == 0 && last > end+int64(time.Second) {
		tb.Errorf("last ts %v ahead of the caller's clock", time.Duration(last-end))
	}
}

var rootRE = regexp.MustCompile(`^[A-Z]{1,5}$`)

func TestUnderlyings(t *testing.T) {
	tests := []struct {
		n, want int
	}{{0, 300}, {1, 1}, {10, 10}, {2000, 2000}}
	for _, tt := range tests {
		g, err := New(Config{Underlyings: tt.n})
		if err != nil {
			t.Fatal(err)
		}
		roots := g.Underlyings()
		if len(roots) != tt.want {
			t.Fatalf("Underlyings: %d roots for %d, want %d", len(roots), tt.n, tt.want)
		}
		if roots[0] != "SPY" {
			t.Errorf("busiest is %q, want SPY", roots[0])
		}
		seen := map[string]bool{}
		for _, r := range roots {
			if seen[r] || !rootRE.MatchString(r) {
				t.Errorf("root %q duplicate or not 1-5 letters", r)
			}
			seen[r] = true
		}
	}
	got := strings.Join(mustNew(t, Config{}).Underlyings()[:6], " ")
	if got != "SPY QQQ TSLA NVDA AAPL AMZN" {
		t.Errorf("top names %q", got)
	}
}

func TestUnderlyingsOnlyOne(t *testing.T) {
	run(t, Config{Underlyings: 1}, 1000, func(_ int64, tk tick.Tick) {
		if tk.Underlying != "SPY" {
			t.Fatalf("tick for %q with a single underlying", tk.Underlying)
		}
	})
}

func mustNew(tb testing.TB, cfg Config) *Generator {
	tb.Helper()
	g, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

func TestConfigValidate(t *testing.T) {
	nan := func() float64 { var z float64; return z / z }()
	tests := []struct {
		cfg  Config
		want string // substring of the error; empty for a valid config
	}{
		{Config{}, ""},
		{Config{Underlyings: 5, Seed: -3, SweepProb: 1e-9, BlockProb: 1, Skew: 2}, "add up"},
		{Config{SweepProb: 0.5, BlockProb: 0.5, QuoteProb: 1, Weeklies: 52}, ""},
		{Config{SweepProb: 1}, ""}, // the default BlockProb does not count
		{Config{Underlyings: -1}, "synth: Underlyings -1"},
		{Config{Underlyings: MaxUnderlyings + 1}, "Underlyings"},
		{Config{Weeklies: -2}, "Weeklies"},
		{Config{Monthlies: MaxMonthlies + 1}, "Monthlies"},
		{Config{SweepProb: -0.1}, "SweepProb"},
		{Config{BlockProb: 1.5}, "BlockProb"},
		{Config{QuoteProb: nan}, "QuoteProb"},
		{Config{SweepProb: 0.7, BlockProb: 0.4}, "add up"},
		{Config{Skew: 1}, "Skew"},
		{Config{Skew: nan}, "Skew"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%+v) = %v, want nil", tt.cfg, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("Validate(%+v) = %v, want error containing %q", tt.cfg, err, tt.want)
		case err != nil && !strings.HasPrefix(err.Error(), "synth: "):
			t.Errorf("error %q lacks the synth: prefix", err)
		}
		if _, nerr := New(tt.cfg); (nerr == nil) != (err == nil) {
			t.Errorf("New(%+v) = %v, Validate = %v", tt.cfg, nerr, err)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	g := mustNew(b, Config{})
	now := start
	// Warm up so that the benchmark measures the steady state, not first
	// touches of contracts (which build a symbol).
	for range 200000 {
		g.Next(now)
		now += step
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		g.Next(now)
		now += step
	}
}

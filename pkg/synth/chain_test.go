package synth

import (
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/tick"
)

func date(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestListExpiries(t *testing.T) {
	tests := []struct {
		name                string
		now                 time.Time
		weeklies, monthlies int
		want                []string
	}{
		{"wednesday", date("2026-03-04").Add(15 * time.Hour), 2, 2,
			[]string{"2026-03-06", "2026-03-13", "2026-03-20", "2026-04-17"}},
		{"friday lists the next one", date("2026-03-06").Add(23 * time.Hour), 1, 1,
			[]string{"2026-03-13", "2026-03-20"}},
		{"weekly that is a monthly", date("2026-03-10"), 2, 1,
			[]string{"2026-03-13", "2026-03-20", "2026-04-17"}},
		{"year end", date("2026-12-14"), 3, 2,
			[]string{"2026-12-18", "2026-12-25", "2027-01-01", "2027-01-15", "2027-02-19"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exps := listExpiries(tt.now.UnixNano(), tt.weeklies, tt.monthlies)
			var got []string
			for _, e := range exps {
				got = append(got, e.date.Format("2006-01-02"))
				if e.date.Weekday() != time.Friday || !e.date.After(tt.now) {
					t.Errorf("expiry %v not a Friday after %v", e.date, tt.now)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("expiries %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("expiries %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestStrikeIncrement(t *testing.T) {
	tests := []struct {
		spot float64
		etf  bool
		want int64
	}{
		{8, false, 500}, {60, false, 1000}, {180, false, 2500}, {400, false, 5000},
		{1200, false, 10000}, {650, true, 1000}, {20, true, 500},
	}
	for _, tt := range tests {
		if got := strikeIncrement(tt.spot, tt.etf); got != tt.want {
			t.Errorf("strikeIncrement(%v, %v) = %d, want %d", tt.spot, tt.etf, got, tt.want)
		}
	}
}

// TestChainsInTheFuture checks every symbol's expiry against the first time
// handed in, and that busy names list more expiries than quiet ones.
func TestChainsInTheFuture(t *testing.T) {
	exps := map[string]map[time.Time]bool{}
	run(t, Config{Seed: 3}, 100000, func(_ int64, tk tick.Tick) {
		if tk.Type == tick.Spot {
			return
		}
		c, err := occ.Parse(tk.Symbol)
		if err != nil {
			t.Fatal(err)
		}
		if c.Expiry.UnixNano() <= start || c.Expiry.Sub(time.Unix(0, start)) > 200*24*time.Hour {
			t.Fatalf("%s expires %v, not within 200 days after %v", tk.Symbol, c.Expiry,
				time.Unix(0, start).UTC())
		}
		if exps[c.Root] == nil {
			exps[c.Root] = map[time.Time]bool{}
		}
		exps[c.Root][c.Expiry] = true
	})
	if n := len(exps["SPY"]); n != 9 {
		t.Errorf("SPY lists %d expiries, want 6 weeklies and 3 monthlies", n)
	}
	for root, e := range exps {
		if len(e) > 9 {
			t.Errorf("%s lists %d expiries, want at most 9", root, len(e))
		}
	}
}

func TestQuotesAroundValue(t *testing.T) {
	g := mustNew(t, Config{})
	g.begin(start)
	u := g.unds[0] // SPY
	u.chain = g.newChain(u)
	atm := u.chain.strikeIndex(u.spot)
	tests := []struct {
		name string
		k    int
		put  bool
	}{{"atm call", atm, false}, {"atm put", atm, true}, {"otm call", atm + 40, false},
		{"itm call", atm - 40, false}, {"otm put", atm - 60, true}}
	for _, tt := range tests {
		c := u.chain.contract(u.root, 0, tt.k, tt.put)
		g.requote(u, c, start)
		v := theo(u, c, start) * 100
		if c.bid > c.ask || c.ask <= 0 || float64(c.bid) > v+1 || float64(c.ask) < v-1 {
			t.Errorf("%s: quote %d/%d cents around value %.2f", tt.name, c.bid, c.ask, v)
		}
		if sp := c.ask - c.bid; sp > 5+int64(v/50) {
			t.Errorf("%s: spread %d cents too wide for value %.2f", tt.name, sp, v)
		}
	}
}

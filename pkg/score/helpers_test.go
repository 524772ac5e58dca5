package score

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/tick"
)

// base is 09:30 in New York on 2026-12-03, the open.
var base = time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC).UnixNano()

// at returns base plus ms milliseconds.
func at(ms int64) int64 { return base + ms*int64(time.Millisecond) }

func under(sym string) string {
	c, err := occ.Parse(sym)
	if err != nil {
		panic(err)
	}
	return c.Root
}

func quote(ms int64, sym string, bid, ask float64) tick.Tick {
	return tick.Tick{Type: tick.Quote, TS: at(ms), Underlying: under(sym), Symbol: sym, Bid: bid, Ask: ask,
		Conditions: []string{}}
}

func trade(ms int64, sym string, price float64, size int64, exch string, conds ...string) tick.Tick {
	if conds == nil {
		conds = []string{}
	}
	return tick.Tick{Type: tick.Trade, TS: at(ms), Underlying: under(sym), Symbol: sym, Price: price,
		Size: size, Exchange: exch, Conditions: conds}
}

func spot(ms int64, u string, price float64) tick.Tick {
	return tick.Tick{Type: tick.Spot, TS: at(ms), Underlying: u, Price: price, Conditions: []string{}}
}

func openInterest(ms int64, sym string, n int64) tick.Tick {
	return tick.Tick{Type: tick.OpenInterest, TS: at(ms), Underlying: under(sym), Symbol: sym,
		OpenInterest: n, Conditions: []string{}}
}

func mustEngine(t testing.TB, cfg ...Config) *Engine {
	t.Helper()
	var c Config
	if len(cfg) > 0 {
		c = cfg[0]
	}
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// play applies ticks as offsets 0, 1, 2, ... of partition 0 and returns the
// finished events.
func play(t testing.TB, e *Engine, ticks ...tick.Tick) []flow.Event {
	t.Helper()
	var out []flow.Event
	for i := range ticks {
		var err error
		out, err = e.Apply(&ticks[i], Source{Offset: int64(i)}, 0, out)
		if err != nil {
			t.Fatalf("tick %d: %v", i, err)
		}
	}
	for i := range out {
		out[i].Finish()
		out[i].Reasons = Reasons(&out[i])
	}
	return out
}

// summary is a compact, exact description of an event for comparisons:
// key kind side sentiment size@price premium exchanges flags, then the fill
// keys and retracted keys of aggregates and cancels.
func summary(e flow.Event) string {
	s := fmt.Sprintf("%s %s %s %s %d@%g $%g x%d", e.Key, e.Kind, side(e.Side), e.Sentiment,
		e.Size, e.Price, e.Premium, e.Exchanges)
	if len(e.FlagNames) > 0 {
		s += " [" + strings.Join(e.FlagNames, ",") + "]"
	}
	if len(e.Fills) > 0 {
		var keys []string
		for _, f := range e.Fills {
			keys = append(keys, f.Key)
		}
		s += " fills=" + strings.Join(keys, ",")
	}
	if len(e.Cancels) > 0 {
		s += " cancels=" + strings.Join(e.Cancels, ",")
	}
	return s
}

func side(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func summaries(events []flow.Event) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, summary(e))
	}
	return out
}

func checkSummaries(t testing.TB, got []flow.Event, want ...string) {
	t.Helper()
	g := summaries(got)
	if strings.Join(g, "\n") != strings.Join(want, "\n") {
		t.Errorf("events\n got:\n  %s\nwant:\n  %s", strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
}

package score

import (
	"errors"
	"reflect"
	"testing"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/tick"
)

const call = "AAPL  261218C00200000"

func TestClassify(t *testing.T) {
	tests := []struct {
		name                  string
		price, bid, ask, last float64
		want                  string
	}{
		{"above ask", 2.45, 2.30, 2.40, 0, flow.SideAboveAsk},
		{"at ask", 2.40, 2.30, 2.40, 0, flow.SideAsk},
		{"nearer ask", 2.37, 2.30, 2.40, 0, flow.SideAsk},
		{"mid, no previous trade", 2.35, 2.30, 2.40, 0, flow.SideMid},
		{"mid on an uptick", 2.35, 2.30, 2.40, 2.31, flow.SideAsk},
		{"mid on a downtick", 2.35, 2.30, 2.40, 2.39, flow.SideBid},
		{"mid, unchanged", 2.35, 2.30, 2.40, 2.35, flow.SideMid},
		{"nearer bid", 2.32, 2.30, 2.40, 0, flow.SideBid},
		{"at bid", 2.30, 2.30, 2.40, 0, flow.SideBid},
		{"below bid", 2.25, 2.30, 2.40, 0, flow.SideBelowBid},
		{"one-sided quote", 2.35, 0, 2.40, 0, flow.SideUnknown},
		{"no quote", 2.35, 0, 0, 0, flow.SideUnknown},
		// 0.1+0.2 is 0.30000000000000004: binary noise must not move the side.
		{"at ask with float noise", 0.1 + 0.2, 0.2, 0.3, 0, flow.SideAsk},
	}
	for _, tt := range tests {
		if got := classify(tt.price, tt.bid, tt.ask, tt.last); got != tt.want {
			t.Errorf("%s: classify(%v, %v, %v, %v) = %q, want %q",
				tt.name, tt.price, tt.bid, tt.ask, tt.last, got, tt.want)
		}
	}
}

func TestSentiment(t *testing.T) {
	tests := []struct {
		side  string
		right occ.Right
		want  string
	}{
		{flow.SideAsk, occ.Call, flow.Bullish},
		{flow.SideAboveAsk, occ.Call, flow.Bullish},
		{flow.SideBid, occ.Put, flow.Bullish},
		{flow.SideAsk, occ.Put, flow.Bearish},
		{flow.SideBelowBid, occ.Call, flow.Bearish},
		{flow.SideMid, occ.Call, flow.Neutral},
		{flow.SideUnknown, occ.Put, flow.Neutral},
	}
	for _, tt := range tests {
		if got := sentiment(tt.side, tt.right); got != tt.want {
			t.Errorf("sentiment(%q, %v) = %q, want %q", tt.side, tt.right, got, tt.want)
		}
	}
}

func mustEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func apply(t testing.TB, e *Engine, tk tick.Tick, offset int64) []flow.Event {
	t.Helper()
	if tk.Conditions == nil {
		tk.Conditions = []string{}
	}
	out, err := e.Apply(&tk, Source{Partition: 2, Offset: offset}, 99, nil)
	if err != nil {
		t.Fatalf("Apply(%+v): %v", tk, err)
	}
	return out
}

func TestTradeEvent(t *testing.T) {
	e := mustEngine(t)
	apply(t, e, tick.Tick{Type: tick.Spot, TS: 1, Underlying: "AAPL", Price: 199.5}, 0)
	apply(t, e, tick.Tick{Type: tick.OpenInterest, TS: 1, Underlying: "AAPL", Symbol: call, OpenInterest: 400}, 1)
	apply(t, e, tick.Tick{Type: tick.Quote, TS: 2, Underlying: "AAPL", Symbol: call, Bid: 2.30, Ask: 2.40}, 2)
	got := apply(t, e, tick.Tick{Type: tick.Trade, TS: 3, IngestTS: 4, Underlying: "AAPL", Symbol: call,
		Price: 2.45, Size: 500, Exchange: "CBOE", Conditions: []string{"ISOI"}}, 3)

	// Premium 2.45 x 500 x 100 = 122,500: log10(122.5) x 10 = 20.88 points.
	// Above the ask: 20. Block by size: 20. Size 500 above open interest 400: 20.
	want := []flow.Event{{
		Key: "2.3.0", TS: 3, IngestTS: 4, ScoredTS: 99, Underlying: "AAPL", Symbol: call,
		Expiry: "2026-12-18", Strike: 200, Right: "C", Kind: flow.KindBlock, Side: flow.SideAboveAsk,
		Sentiment: flow.Bullish, Price: 2.45, Size: 500, Premium: 122500, Bid: 2.30, Ask: 2.40,
		Spot: 199.5, Exchange: "CBOE", Conditions: []string{"ISOI"}, Score: 80,
		Reasons: []string{
			"premium $122.5K: +20",
			"printed beyond the quote (AA): +20",
			"block: +20",
			"size 500 above open interest 400: +20",
		},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events\n got %+v\nwant %+v", got, want)
	}
}

func TestConditionsRuleOutSide(t *testing.T) {
	e := mustEngine(t)
	apply(t, e, tick.Tick{Type: tick.Quote, TS: 1, Underlying: "AAPL", Symbol: call, Bid: 2.30, Ask: 2.40}, 0)
	for _, cond := range []string{"LATE", "MLET", "SLAN", "TCMP", "EXHT"} {
		got := apply(t, e, tick.Tick{Type: tick.Trade, TS: 2, Underlying: "AAPL", Symbol: call,
			Price: 2.40, Size: 1, Conditions: []string{cond}}, 1)
		if got[0].Side != flow.SideUnknown || got[0].Sentiment != flow.Neutral {
			t.Errorf("%s: side %q sentiment %q, want unknown and neutral", cond, got[0].Side, got[0].Sentiment)
		}
	}
}

func TestBlockByPremiumAndSmallPrints(t *testing.T) {
	e := mustEngine(t)
	apply(t, e, tick.Tick{Type: tick.Quote, TS: 1, Underlying: "AAPL", Symbol: call, Bid: 10, Ask: 10.2}, 0)

	big := apply(t, e, tick.Tick{Type: tick.Trade, TS: 2, Underlying: "AAPL", Symbol: call, Price: 10.1, Size: 100}, 1)
	if big[0].Kind != flow.KindBlock || big[0].Premium != 101000 {
		t.Errorf("premium 101,000 print: kind %q premium %v, want block", big[0].Kind, big[0].Premium)
	}

	// Same price as the previous trade: the tick rule cannot decide, so mid.
	small := apply(t, e, tick.Tick{Type: tick.Trade, TS: 3, Underlying: "AAPL", Symbol: call, Price: 10.1, Size: 1}, 2)
	if small[0].Kind != flow.KindTrade || small[0].Side != flow.SideMid || small[0].Score != 0 {
		t.Errorf("one-lot mid print: %+v, want an unscored mid trade", small[0])
	}
	if small[0].Reasons == nil || len(small[0].Reasons) != 0 {
		t.Errorf("unscored print has reasons %#v, want an empty list", small[0].Reasons)
	}
}

func TestRejectsBadTicks(t *testing.T) {
	e := mustEngine(t)
	bad := tick.Tick{Type: tick.Trade, TS: 1, Underlying: "AAPL", Symbol: "AAPL", Price: 1, Size: 1}
	out, err := e.Apply(&bad, Source{}, 0, nil)
	if !errors.Is(err, ErrTick) || len(out) != 0 {
		t.Errorf("Apply(bad symbol) = %v, %v; want ErrTick and no events", out, err)
	}
	if len(e.contracts) != 0 {
		t.Errorf("a rejected tick left state behind: %v", e.contracts)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{BlockSize: -1}, {BlockPremium: -5}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted an invalid config", c)
		}
	}
}

func TestMoney(t *testing.T) {
	for v, want := range map[float64]string{950: "950", 12500: "12.5K", 100000: "100K", 1.25e6: "1.2M", 2e6: "2M"} {
		if got := money(v); got != want {
			t.Errorf("money(%v) = %q, want %q", v, got, want)
		}
	}
}

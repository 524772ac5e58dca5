package score

import (
	"errors"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/tick"
)

const (
	call = "AAPL  261218C00200000" // 15 days to expiry from base
	put  = "AAPL  261218P00190000"
	spy  = "SPY   261204C00650000" // 1 day to expiry
)

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
		{"at ask with float noise", 0.1 + 0.2, 0.2, 0.3, 0, flow.SideAsk},
	}
	for _, tt := range tests {
		if got := classify(tt.price, tt.bid, tt.ask, tt.last); got != tt.want {
			t.Errorf("%s: classify = %q, want %q", tt.name, got, tt.want)
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
		{flow.SideBid, occ.Put, flow.Bullish},
		{flow.SideAboveAsk, occ.Put, flow.Bearish},
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

// TestEnrichment checks every enriched field of one print and its score.
func TestEnrichment(t *testing.T) {
	e := mustEngine(t)
	got := play(t, e,
		spot(0, "AAPL", 195),
		openInterest(1, call, 400),
		quote(2, call, 2.30, 2.40),
		trade(3, call, 2.40, 300, "CBOE"),
	)
	ev := got[0]
	// Premium 2.40 x 300 x 100 = 72,000: 30 x log10(72)/3 = 18.6 -> 18.
	// At the ask: 2/3 x 15 = 10. Volume 300 of open interest 400: 0.75 -> 15/3 = 5.
	// 15 days to expiry: 10/2 = 5. OTM (200-195)/195 = 2.56%: 10.
	want := flow.Components{Premium: 18, Aggression: 10, VolumeOI: 5, DTE: 5, Moneyness: 10}
	if ev.Kind != flow.KindTrade || ev.Side != flow.SideAsk || ev.Sentiment != flow.Bullish ||
		ev.DTE != 15 || ev.OTMPct != 2.56 || ev.Volume != 300 || ev.OpenInterest != 400 ||
		ev.Premium != 72000 || ev.Expiry != "2026-12-18" || ev.Strike != 200 || ev.Right != "C" ||
		ev.Spot != 195 || ev.Bid != 2.30 || ev.Ask != 2.40 || ev.Exchanges != 1 || ev.Key != "0.3.0" {
		t.Errorf("enriched event wrong: %+v", ev)
	}
	if ev.Components != want || ev.Score != 48 {
		t.Errorf("components %+v score %d, want %+v and 48", ev.Components, ev.Score, want)
	}
	wantReasons := []string{"premium $72K: +18", "printed at or near the ask: +10",
		"volume 300 against open interest 400: +5", "15 days to expiry: +5", "2.56% out of the money: +10"}
	if len(ev.Reasons) != len(wantReasons) {
		t.Fatalf("reasons %q, want %q", ev.Reasons, wantReasons)
	}
	for i := range wantReasons {
		if ev.Reasons[i] != wantReasons[i] {
			t.Errorf("reason %d = %q, want %q", i, ev.Reasons[i], wantReasons[i])
		}
	}
}

func TestSweepSplitAndWindows(t *testing.T) {
	e := mustEngine(t)
	got := play(t, e,
		quote(0, call, 2.30, 2.40),
		trade(10, call, 2.40, 100, "CBOE", "ISOI"), // 1: opens a buy cluster
		trade(60, call, 2.45, 200, "PHLX", "ISOI"), // 2: joins, another exchange
		trade(250, call, 2.40, 100, "ISE", "ISOI"), // 3: joins, within 300 ms of the first
		quote(400, call, 2.30, 2.40),               // 4: past 10+300: the sweep closes here
		trade(500, call, 2.40, 50, "CBOE"),         // 5: a new cluster
		trade(520, call, 2.40, 70, "CBOE"),         // 6: same exchange
		trade(540, call, 2.30, 10, "CBOE"),         // 7: sells: closes the buy split
		quote(2000, call, 2.30, 2.40),              // 8: closes the one-fill sell cluster: nothing
	)
	checkSummaries(t, got,
		"0.1.0 trade A bullish 100@2.4 $24000 x1 [iso]",
		"0.2.0 trade AA bullish 200@2.45 $49000 x1 [iso]",
		"0.3.0 trade A bullish 100@2.4 $24000 x1 [iso]",
		// 400 contracts for $97,000: average 2.425; AA is the strongest side.
		// Keyed by the print that opened the order, slot 1.
		"0.1.1 sweep AA bullish 400@2.425 $97000 x3 [iso] fills=0.1.0,0.2.0,0.3.0",
		"0.5.0 trade A bullish 50@2.4 $12000 x1",
		"0.6.0 trade A bullish 70@2.4 $16800 x1",
		"0.5.1 split A bullish 120@2.4 $28800 x1 fills=0.5.0,0.6.0",
		"0.7.0 trade B bearish 10@2.3 $2300 x1",
	)
	if got[3].Exchange != "" || got[6].Exchange != "CBOE" || got[3].Bid != 2.30 || got[3].TS != at(250) {
		t.Errorf("aggregate details: sweep %+v, split %+v", got[3], got[6])
	}
}

func TestGoldenSweep(t *testing.T) {
	e := mustEngine(t)
	got := play(t, e,
		spot(0, "SPY", 648),
		openInterest(0, spy, 1000),
		quote(0, spy, 4.90, 5.00),
		trade(10, spy, 5.00, 1200, "CBOE", "ISOI"),
		trade(20, spy, 5.00, 1000, "MIAX", "ISOI"),
		spot(1000, "SPY", 648),
	)
	sweep := got[2]
	// 2,200 contracts x 5.00 x 100 = $1.1M, above open interest 1,000,
	// (650-648)/648 = 0.31% from the money: golden.
	if sweep.Kind != flow.KindSweep || sweep.Flags&flow.Golden == 0 || sweep.Premium != 1_100_000 {
		t.Fatalf("want a golden sweep, got %s", summary(sweep))
	}
	// Premium 30 (capped), at the ask 10, volume 2200/1000 >= 2: 15, 1 day: 10,
	// near the money: 10, sweep 15 + golden 10, unusual (volume above OI): 10.
	want := flow.Components{Premium: 30, Aggression: 10, VolumeOI: 15, DTE: 10, Moneyness: 10, Kind: 25, Unusual: 10}
	if sweep.Components != want || sweep.Score != 100 {
		t.Errorf("golden sweep components %+v score %d, want %+v capped at 100", sweep.Components, sweep.Score, want)
	}
	if got[0].Kind != flow.KindBlock || got[1].Kind != flow.KindBlock {
		t.Errorf("1,200 and 1,000 lots are blocks: %s / %s", summary(got[0]), summary(got[1]))
	}
}

func TestBlocksAndUnusual(t *testing.T) {
	e := mustEngine(t)
	ticks := []tick.Tick{quote(0, call, 10, 10.2)}
	for i := range 20 {
		ticks = append(ticks, trade(int64(1000*(i+1)), call, 10.1, 2, "CBOE"))
	}
	ticks = append(ticks,
		trade(30_000, call, 10.1, 10, "CBOE"),  // 5x the average of 2: unusual
		trade(31_000, call, 10.1, 100, "CBOE"), // $101,000: block by premium
	)
	got := play(t, e, ticks...)
	if got[19].Flags&flow.Unusual != 0 {
		t.Errorf("a print of the usual size is flagged unusual: %s", summary(got[19]))
	}
	last := got[len(got)-2:]
	if last[0].Flags&flow.Unusual == 0 || last[0].Kind != flow.KindTrade {
		t.Errorf("10 lots after twenty 2-lots: %s, want an unusual trade", summary(last[0]))
	}
	if last[1].Kind != flow.KindBlock || last[1].Premium != 101_000 {
		t.Errorf("$101,000 print: %s, want a block", summary(last[1]))
	}

	e = mustEngine(t)
	got = play(t, e, openInterest(0, call, 100), quote(0, call, 1, 1.1),
		trade(1, call, 1.1, 60, "CBOE"), trade(2, call, 1.1, 60, "CBOE"))
	if got[0].Flags&flow.Unusual != 0 || got[1].Flags&flow.Unusual == 0 {
		t.Errorf("volume 60 then 120 of open interest 100: %s / %s", summary(got[0]), summary(got[1]))
	}
}

func TestRepeatedHits(t *testing.T) {
	e := mustEngine(t, Config{RepeatedCount: 3, RepeatedWindow: 10 * time.Second})
	got := play(t, e,
		quote(0, put, 1.10, 1.20),
		trade(1000, put, 1.20, 10, "CBOE"), // 1: order 1
		trade(3000, put, 1.20, 10, "ISE"),  // 2: closes order 1, opens order 2
		trade(5000, put, 1.20, 10, "BOX"),  // 3: closes order 2, opens order 3
		quote(6000, put, 1.10, 1.20),       // 4: closes order 3: three orders in 4 s
	)
	checkSummaries(t, got,
		"0.1.0 trade A bearish 10@1.2 $1200 x1",
		"0.2.0 trade A bearish 10@1.2 $1200 x1",
		"0.3.0 trade A bearish 10@1.2 $1200 x1",
		"0.1.2 repeated A bearish 30@1.2 $3600 x3 fills=0.1.0,0.2.0,0.3.0",
	)
}

func TestSpread(t *testing.T) {
	e := mustEngine(t)
	got := play(t, e,
		quote(0, call, 2.30, 2.40),
		quote(0, put, 1.10, 1.20),
		trade(10, call, 2.35, 20, "CBOE", "MLET"),
		trade(11, put, 1.15, 20, "CBOE", "MLET"),
		trade(500, call, 2.40, 1, "CBOE"), // past the 50 ms window: the spread closes
	)
	checkSummaries(t, got,
		"0.2.0 trade - neutral 20@2.35 $4700 x1 [multileg]",
		"0.3.0 trade - neutral 20@1.15 $2300 x1 [multileg]",
		"0.2.3 spread - neutral 40@1.75 $7000 x1 [multileg] fills=0.2.0,0.3.0",
		"0.4.0 trade A bullish 1@2.4 $240 x1",
	)
	if got[2].Components.Aggression != 0 || got[2].Sentiment != flow.Neutral {
		t.Errorf("a spread must stay out of directional scoring: %+v", got[2].Components)
	}
}

func TestConditionTreatments(t *testing.T) {
	e := mustEngine(t)
	ticks := []tick.Tick{quote(0, call, 2.30, 2.40)}
	conds := []string{"LATE", "OSEQ", "SLAN", "SLCI", "CBMO", "MCTP", "EXHT", "SLFT"}
	for i, c := range conds {
		// Each 1,000 ms apart so that no two form a cluster.
		ticks = append(ticks, trade(int64(1000*(i+1)), call, 2.40, 1, "CBOE", c))
	}
	got := play(t, e, ticks...)
	want := map[string]string{
		"LATE": "- [late]", "OSEQ": "- [late]", "SLAN": "-", "SLCI": "- [iso]",
		"CBMO": "- [multileg]", "MCTP": "-", "EXHT": "A [extended]", "SLFT": "A [floor]",
	}
	for i, c := range conds {
		ev := got[i]
		s := side(ev.Side)
		if len(ev.FlagNames) > 0 {
			s += " [" + ev.FlagNames[0] + "]"
		}
		if s != want[c] {
			t.Errorf("%s: %q, want %q (%s)", c, s, want[c], summary(ev))
		}
	}
	// Late prints count towards volume.
	if got[len(got)-1].Volume != int64(len(conds)) {
		t.Errorf("volume %d, want %d", got[len(got)-1].Volume, len(conds))
	}
}

func TestCancels(t *testing.T) {
	e := mustEngine(t)
	got := play(t, e,
		quote(0, call, 2.30, 2.40),
		trade(10, call, 2.40, 100, "CBOE", "ISOI"),   // 1
		trade(20, call, 2.40, 100, "PHLX", "ISOI"),   // 2
		trade(30, call, 2.40, 100, "ISE", "ISOI"),    // 3
		quote(1000, call, 2.30, 2.40),                // 4: emits the sweep of 1-3
		trade(1100, call, 2.40, 100, "ISE", "CANC"),  // 5: cancels 3
		trade(1200, call, 9.99, 1, "BOX", "CANC"),    // 6: matches nothing
		trade(1300, call, 2.40, 100, "PHLX", "CNCL"), // 7: cancels 2; one exchange left
	)
	checkSummaries(t, got,
		"0.1.0 trade A bullish 100@2.4 $24000 x1 [iso]",
		"0.2.0 trade A bullish 100@2.4 $24000 x1 [iso]",
		"0.3.0 trade A bullish 100@2.4 $24000 x1 [iso]",
		"0.1.1 sweep A bullish 300@2.4 $72000 x3 [iso] fills=0.1.0,0.2.0,0.3.0",
		"0.5.0 cancel - neutral 100@2.4 $24000 x1 cancels=0.3.0,0.1.1",
		"0.5.1 sweep A bullish 200@2.4 $48000 x2 [iso] fills=0.1.0,0.2.0",
		"0.7.0 cancel - neutral 100@2.4 $24000 x1 cancels=0.2.0,0.5.1",
	)
	if got[4].Volume != 200 || got[6].Volume != 100 {
		t.Errorf("volume after cancels %d then %d, want 200 then 100", got[4].Volume, got[6].Volume)
	}
	if e.Stats().UnmatchedCancels != 1 {
		t.Errorf("unmatched cancels = %d, want 1", e.Stats().UnmatchedCancels)
	}
}

func TestCancelInsideAnOpenCluster(t *testing.T) {
	e := mustEngine(t)
	got := play(t, e,
		quote(0, call, 2.30, 2.40),
		trade(10, call, 2.40, 100, "CBOE"),
		trade(20, call, 2.40, 50, "PHLX"),
		trade(30, call, 2.40, 50, "PHLX", "CANC"), // retracts 2 before the window closes
		quote(1000, call, 2.30, 2.40),             // the cluster closes with one fill: no sweep
	)
	checkSummaries(t, got,
		"0.1.0 trade A bullish 100@2.4 $24000 x1",
		"0.2.0 trade A bullish 50@2.4 $12000 x1",
		"0.3.0 cancel - neutral 50@2.4 $12000 x1 cancels=0.2.0",
	)
}

func TestDayRollsOver(t *testing.T) {
	e := mustEngine(t)
	expiring := "AAPL  261203C00200000" // expires on the first day
	day := int64(24 * time.Hour / time.Millisecond)
	got := play(t, e,
		quote(0, call, 2.30, 2.40),
		trade(10, call, 2.40, 100, "CBOE"),
		quote(20, expiring, 1, 1.1),
		trade(day, call, 2.40, 5, "CBOE"), // the next trading day
	)
	if got[1].Volume != 5 || got[1].DTE != 14 {
		t.Errorf("next day: volume %d (want 5) and DTE %d (want 14)", got[1].Volume, got[1].DTE)
	}
	u := e.unders["AAPL"]
	if _, ok := u.contracts[expiring]; ok {
		t.Error("a contract that expired yesterday is still kept")
	}
	if got[1].Side != flow.SideAsk {
		t.Errorf("the NBBO survives the day change: side %q, want A", got[1].Side)
	}
}

func TestRejectsBadTicks(t *testing.T) {
	e := mustEngine(t)
	bad := trade(1, call, 1, 1, "CBOE")
	bad.Symbol = "AAPL"
	out, err := e.Apply(&bad, Source{}, 0, nil)
	if !errors.Is(err, ErrTick) || len(out) != 0 || len(e.unders) != 0 {
		t.Errorf("Apply(bad symbol) = %v, %v; want ErrTick, no events and no state", out, err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{BlockSize: -1}, {BlockPremium: -5}, {RepeatedCount: 1},
		{SweepWindow: -time.Second}, {NearMoneyPct: -1}, {UnusualMinPrints: -2}} {
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

package account

import (
	"testing"

	"github.com/liveflow/liveflow/loadtest/internal/expect"
	"github.com/liveflow/liveflow/loadtest/internal/watch"
)

// key packs a test key.
func key(t testing.TB, p, o, n int64) expect.Key {
	t.Helper()
	k, ok := expect.MakeKey(p, o, n)
	if !ok {
		t.Fatalf("key %d.%d.%d does not pack", p, o, n)
	}
	return k
}

// testWindow is partition 0 from offset 10 and partition 1 from offset 5:
// an AAPL trade and sweep, a SPY trade, an AAPL cancel.
func testWindow(t testing.TB) *Window {
	return NewWindow(expect.Offsets{0: 10, 1: 5}, []expect.Event{
		{Key: key(t, 0, 10, 0), Attrs: watch.Attrs{Underlying: "AAPL", Kind: "trade", Premium: 5_000}},
		{Key: key(t, 0, 11, 1), Attrs: watch.Attrs{Underlying: "AAPL", Kind: "sweep", Premium: 50_000}},
		{Key: key(t, 1, 5, 0), Attrs: watch.Attrs{Underlying: "SPY", Kind: "trade", Premium: 50_000}},
		{Key: key(t, 0, 12, 0), Attrs: watch.Attrs{Underlying: "AAPL", Kind: "cancel"}},
	})
}

func TestAccount(t *testing.T) {
	w := testWindow(t)
	big := watch.Filter{Symbols: []string{"AAPL", "SPY"}, MinPremium: 10_000}
	all := watch.Filter{Symbols: []string{"AAPL"}}
	rec := func(keys ...expect.Key) []Rec {
		out := make([]Rec, len(keys))
		for i, k := range keys {
			out[i] = Rec{Key: k, Lat: 1000}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		c    Client
		want Outcome
	}{
		{"everything once", Client{Filter: &all, Live: rec(key(t, 0, 10, 0), key(t, 0, 11, 1), key(t, 0, 12, 0))},
			Outcome{Expected: 3, Delivered: 3}},
		{"a cancel missed and one event twice",
			Client{Filter: &all, Live: rec(key(t, 0, 10, 0), key(t, 0, 11, 1), key(t, 0, 10, 0))},
			Outcome{Expected: 3, Delivered: 2, Lost: 1, Duplicated: 1, LostKeys: []expect.Key{key(t, 0, 12, 0)}}},
		{"unwanted, before and beyond the window",
			Client{Filter: &big, Live: rec(key(t, 0, 10, 0), key(t, 0, 11, 1), key(t, 1, 5, 0), key(t, 0, 12, 0),
				key(t, 0, 9, 0), key(t, 1, 99, 0))},
			Outcome{Expected: 3, Delivered: 3, Unwanted: 1, Before: 1, Beyond: 1,
				Unwelcome: []expect.Key{key(t, 0, 10, 0)}}},
		{"replayed after a resume, once",
			Client{Filter: &all, Live: rec(key(t, 0, 10, 0)), Replayed: []expect.Key{key(t, 0, 11, 1), key(t, 0, 12, 0)}},
			Outcome{Expected: 3, Delivered: 3, Replayed: 2}},
		{"losses up to the lagged notices' drops are not loss",
			Client{Filter: &all, Live: rec(key(t, 0, 10, 0)), Lagged: 1},
			Outcome{Expected: 3, Delivered: 1, Lost: 1, LostLagged: 1,
				LostKeys: []expect.Key{key(t, 0, 11, 1), key(t, 0, 12, 0)}}},
	} {
		got := Account(w, &tc.c)
		if !same(got, tc.want) {
			t.Errorf("%s: Account = %+v, want %+v", tc.name, got, tc.want)
		}
		if got.Expected != got.Delivered+got.Lost+got.LostLagged {
			t.Errorf("%s: expected %d is not delivered + lost + lost after lagged notices", tc.name, got.Expected)
		}
	}
}

func same(a, b Outcome) bool {
	if len(a.LostKeys) != len(b.LostKeys) || len(a.Unwelcome) != len(b.Unwelcome) {
		return false
	}
	for i := range a.LostKeys {
		if a.LostKeys[i] != b.LostKeys[i] {
			return false
		}
	}
	for i := range a.Unwelcome {
		if a.Unwelcome[i] != b.Unwelcome[i] {
			return false
		}
	}
	a.LostKeys, b.LostKeys, a.Unwelcome, b.Unwelcome = nil, nil, nil, nil
	return a.Expected == b.Expected && a.Delivered == b.Delivered && a.Lost == b.Lost &&
		a.LostLagged == b.LostLagged && a.Misrouted == b.Misrouted && a.Duplicated == b.Duplicated &&
		a.Unwanted == b.Unwanted && a.Before == b.Before && a.Beyond == b.Beyond && a.Replayed == b.Replayed
}

func TestMisroutedLossAndTotals(t *testing.T) {
	w := testWindow(t)
	w.Misrouted = map[expect.Key]bool{key(t, 0, 11, 1): true}
	all := watch.Filter{Symbols: []string{"AAPL"}}
	o := Account(w, &Client{Filter: &all, Live: []Rec{{Key: key(t, 0, 10, 0)}, {Key: key(t, 0, 10, 0)}}})
	if o.Lost != 2 || o.Misrouted != 1 {
		t.Errorf("lost %d, misrouted %d; want 2 and 1", o.Lost, o.Misrouted)
	}
	var tot Totals
	tot.Add(&o)
	tot.Add(&Outcome{Expected: 4, Delivered: 4})
	want := Totals{Clients: 2, Expected: 7, Delivered: 5, Lost: 2, Misrouted: 1, Duplicated: 1,
		ClientsWithLoss: 1, ClientsWithDups: 1}
	if tot != want {
		t.Errorf("Totals = %+v, want %+v", tot, want)
	}
}

func TestLatencies(t *testing.T) {
	w := testWindow(t)
	all := watch.Filter{Symbols: []string{"AAPL"}}
	steady := &Client{Class: Steady, Filter: &all, Live: []Rec{
		{Key: key(t, 0, 10, 0), Lat: 2000, At: 500},  // second 0, received in second 0
		{Key: key(t, 0, 11, 1), Lat: 4000, At: 1500}, // second 1
		{Key: key(t, 1, 5, 0), Lat: 9000, At: 1600},  // SPY: unwanted, only received
	}}
	slow := &Client{Class: Slow, Filter: &all, Live: []Rec{{Key: key(t, 0, 12, 0), Lat: 30_000, At: 1990}}}
	l := Latencies(w, []*Client{steady, slow})
	if n := l.Hist[Steady].TotalCount(); n != 2 {
		t.Errorf("steady latencies %d, want 2", n)
	}
	if n, m := l.Hist[Slow].TotalCount(), l.Hist[Slow].Max(); n != 1 || m < 29_900 || m > 30_100 {
		t.Errorf("slow latencies %d, max %d µs", n, m)
	}
	if len(l.Seconds) != 2 || l.Seconds[0].TotalCount() != 1 || l.Seconds[1].TotalCount() != 1 {
		t.Errorf("per second: %d seconds", len(l.Seconds))
	}
	// Received by second of receipt: 0.502 s, 1.504 s, 1.609 s and 2.02 s.
	if want := []int64{1, 2, 1}; len(l.Received) != 3 || l.Received[0] != want[0] || l.Received[1] != want[1] ||
		l.Received[2] != want[2] {
		t.Errorf("received per second %v, want %v", l.Received, want)
	}
	if n := l.Merged(Steady, Slow).TotalCount(); n != 3 {
		t.Errorf("merged %d", n)
	}
}

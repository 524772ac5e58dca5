package main

import (
	"testing"

	"github.com/liveflow/liveflow/loadtest/internal/watch"
)

// testPool is a pool of four events without JSON: AAPL trade (premium 5k),
// AAPL sweep (premium 50k), SPY trade (premium 50k), AAPL cancel.
func testPool() *pool {
	p := &pool{events: []event{
		{Attrs: watch.Attrs{Underlying: "AAPL", Kind: "trade", Premium: 5_000}},
		{Attrs: watch.Attrs{Underlying: "AAPL", Kind: "sweep", Premium: 50_000}},
		{Attrs: watch.Attrs{Underlying: "SPY", Kind: "trade", Premium: 50_000}},
		{Attrs: watch.Attrs{Underlying: "AAPL", Kind: "cancel"}},
	}}
	p.index()
	return p
}

// testClient watches symbols with the conditions of mix profile prof.
func testClient(p *pool, n, prof int, symbols ...string) *client {
	c := &client{n: n, profile: prof, filter: watch.Mix[prof].Make(symbols), subscribed: true,
		last: make([]int64, 4)}
	for _, s := range symbols {
		for u, name := range p.underlyings {
			if name == s {
				c.watch = append(c.watch, u)
			}
		}
	}
	return c
}

func TestAccount(t *testing.T) {
	p := testPool()
	if watch.Mix[0].Make(nil).MinPremium != 0 || watch.Mix[1].Make(nil).MinPremium != 10_000 {
		t.Fatal("the test expects profile 0 to want everything and profile 1 min_premium 10000")
	}
	all := testClient(p, 0, 0, "AAPL")        // wants every AAPL event
	big := testClient(p, 1, 1, "AAPL", "SPY") // wants premium >= 10k, and cancels
	gone := testClient(p, 2, 0, "SPY")
	gone.subscribed = false
	clients := []*client{all, big, gone}

	// The window is writes 8 to 16: two rounds of the pool.
	const lo, hi = 8, 16
	for _, seq := range []int64{8, 9, 11, 12, 13} { // all missed 15, a cancel
		all.note(seq, seq-lo, 0, 1)
	}
	all.note(9, 9-lo, 0, 1) // once more
	for _, seq := range []int64{8, 9, 10, 11, 13, 14} {
		big.note(seq, seq-lo, 0, 1) // 8 is unwanted; 15, a cancel, missed
	}
	account(p, clients, profilePasses(p), lo, hi)

	for _, tc := range []struct {
		c                             *client
		expected, delivered, unwanted int64
	}{
		{all, 6, 5, 0},
		{big, 6, 5, 1},
		{gone, 0, 0, 0},
	} {
		c := tc.c
		if c.expected != tc.expected || c.delivered != tc.delivered || c.unwanted != tc.unwanted {
			t.Errorf("client %d: expected %d, delivered %d, unwanted %d; want %d, %d, %d", c.n,
				c.expected, c.delivered, c.unwanted, tc.expected, tc.delivered, tc.unwanted)
		}
	}
	if all.dups != 1 || big.dups != 0 {
		t.Errorf("duplicates %d and %d, want 1 and 0", all.dups, big.dups)
	}
}

func TestNoteOrderAndGrowth(t *testing.T) {
	c := &client{last: make([]int64, 2)}
	for _, seq := range []int64{1000, 1002, 1001, 1003, 1500} {
		shard := 0
		if seq == 1003 {
			shard = 1
		}
		c.note(seq, seq-1000, shard, 1)
	}
	if c.disorder != 1 {
		t.Errorf("out of order = %d, want 1 (1001 after 1002 on shard 0)", c.disorder)
	}
	if !c.got(500) || c.got(499) || c.got(10_000) {
		t.Error("the bitmap did not grow to hold write 1500, or holds more")
	}
	if n := arrived(c.seen, 501); n != 5 {
		t.Errorf("arrived = %d, want 5", n)
	}
	if n := arrived(c.seen, 500); n != 4 {
		t.Errorf("arrived before bit 500 = %d, want 4", n)
	}
}

func TestFanout(t *testing.T) {
	p := testPool()
	clients := []*client{testClient(p, 0, 0, "AAPL"), testClient(p, 1, 1, "AAPL", "SPY")}
	// Per pool round: AAPL trade 1, AAPL sweep 2, SPY trade 1, AAPL cancel 2.
	if got := fanout(p, clients, profilePasses(p)); got != 6.0/4 {
		t.Errorf("fanout = %v, want 1.5", got)
	}
}

func TestSpread(t *testing.T) {
	v := make([]int64, 200)
	for i := range v {
		v[i] = int64(200 - i)
	}
	if s := spreadOf(v); s != (spread{min: 1, p1: 2, p50: 100, max: 200}) {
		t.Errorf("spreadOf = %+v", s)
	}
}

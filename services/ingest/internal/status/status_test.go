package status

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/testkit"
)

func TestBoardOrdersConditionsBySeverity(t *testing.T) {
	clock := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	b := NewBoard(func() time.Time { return clock })
	if s, _ := b.Snapshot(); s.State != OK || s.Reason != "" || !s.Since.Equal(clock) {
		t.Fatalf("new board = %+v, want ok since creation", s)
	}
	clock = clock.Add(time.Second)
	b.Hold("gap", SequenceGap, "2 SPY quotes missed", time.Minute)
	b.Set("failover", Failover, "on the secondary")
	b.SetFeed("polygon:wss://b/options")
	s, next := b.Snapshot()
	want := Snapshot{State: Degraded, Reason: Failover, Detail: "on the secondary; 2 SPY quotes missed",
		Since: clock, Feed: "polygon:wss://b/options"}
	if s != want || !next.Equal(clock.Add(time.Minute)) {
		t.Errorf("snapshot = %+v next %s,\nwant %+v next %s", s, next, want, clock.Add(time.Minute))
	}

	// A later condition does not move since; clearing all of them does.
	clock = clock.Add(time.Second)
	b.Set("feed", AuthFailed, "key refused")
	if s, _ := b.Snapshot(); s.Reason != AuthFailed || !s.Since.Equal(want.Since) {
		t.Errorf("after auth failure: %+v", s)
	}
	b.Clear("feed")
	b.Clear("failover")
	clock = clock.Add(2 * time.Minute) // the gap's hold runs out
	s, next = b.Snapshot()
	if s.State != OK || s.Reason != "" || s.Detail != "" || !s.Since.Equal(clock) || !next.IsZero() {
		t.Errorf("after clearing and expiry: %+v next %s, want ok since %s", s, next, clock)
	}
}

func TestBoardSignalsChanges(t *testing.T) {
	b := NewBoard(nil)
	signalled := func() bool {
		select {
		case <-b.Changed():
			return true
		default:
			return false
		}
	}
	if signalled() {
		t.Error("a new board signals a change")
	}
	b.Set("feed", FeedDown, "connecting")
	if !signalled() {
		t.Error("Set did not signal")
	}
	b.Set("feed", FeedDown, "connecting")
	b.Clear("absent")
	if signalled() {
		t.Error("setting the same condition again, or clearing an empty slot, signalled")
	}
}

// recorder is a Logger that keeps messages.
type recorder = testkit.Logs

func TestPublisherWritesTheHashWithATTL(t *testing.T) {
	rdb, srv := redistest.Client(t)
	b := NewBoard(nil)
	b.SetFeed("polygon:wss://a/options")
	var mu sync.Mutex
	var seen []Snapshot
	p := &Publisher{Board: b, Redis: rdb, Key: "test:feed:status", TTL: 600 * time.Millisecond,
		Log: &recorder{}, OnChange: func(s Snapshot) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, s)
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	field := func(name string) string { return rdb.HGet(context.Background(), p.Key, name).Val() }
	testkit.Eventually(t, 5*time.Second, "state ok in Redis", func() bool { return field("state") == OK })
	b.Set("feed", Stalled, "no message for 30s")
	testkit.Eventually(t, 5*time.Second, "state degraded in Redis", func() bool {
		return field("state") == Degraded
	})
	h := rdb.HGetAll(context.Background(), p.Key).Val()
	if h["reason"] != Stalled || h["detail"] != "no message for 30s" || h["feed"] != "polygon:wss://a/options" {
		t.Errorf("hash = %v", h)
	}
	since, err := time.Parse(time.RFC3339, h["since"])
	if err != nil || time.Since(since) > 5*time.Second {
		t.Errorf("since %q is not a recent RFC 3339 time: %v", h["since"], err)
	}
	if ttl := rdb.PTTL(context.Background(), p.Key).Val(); ttl <= 0 || ttl > p.TTL {
		t.Errorf("TTL %s, want at most %s", ttl, p.TTL)
	}
	// Refreshed before it expires: the key outlives several TTLs.
	time.Sleep(3 * p.TTL)
	if field("state") != Degraded {
		t.Error("the key expired although the publisher runs")
	}

	// Redis going away is logged once; the status comes back with it.
	srv.Kill()
	b.Clear("feed")
	testkit.Eventually(t, 5*time.Second, "a logged write failure", func() bool {
		return p.Log.(*recorder).Count("warn", "cannot publish the feed status") == 1
	})

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	done <- nil // for the deferred stop
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 || seen[0].State != OK || seen[1].Reason != Stalled || seen[2].State != OK {
		t.Errorf("OnChange saw %+v, want ok, stalled, ok", seen)
	}
}

func TestPublisherRemovesTheKeyAtShutdown(t *testing.T) {
	rdb, _ := redistest.Client(t)
	p := &Publisher{Board: NewBoard(nil), Redis: rdb, Key: "test:feed:status", TTL: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	testkit.Eventually(t, 5*time.Second, "the key written", func() bool {
		return rdb.Exists(context.Background(), p.Key).Val() == 1
	})
	cancel()
	<-done
	if n := rdb.Exists(context.Background(), p.Key).Val(); n != 0 {
		t.Error("the key outlived the publisher")
	}
	if !strings.HasPrefix(DefaultKey, "liveflow:") {
		t.Errorf("default key %q is outside the liveflow namespace", DefaultKey)
	}
}

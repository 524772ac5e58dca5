package feed

import (
	"context"
	"testing"
	"time"
)

// A line stamped hours ahead does not hold the replay up: it goes to the
// sink at once, which refuses it, and the pace of the rest is kept.
func TestFileDoesNotWaitForATickFromTheFuture(t *testing.T) {
	path := writeTape(t,
		`{"type":"spot","ts":"2026-12-03T14:30:00Z","underlying":"AAPL","price":1}`,
		`{"type":"spot","ts":"2026-12-03T19:30:00Z","underlying":"AAPL","price":2}`,
		`{"type":"spot","ts":"2026-12-03T14:30:01Z","underlying":"AAPL","price":3}`,
	)
	f, err := NewFile(path, 1)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	var waited time.Duration
	f.now = func() time.Time { return clock }
	f.sleep = func(_ context.Context, d time.Duration) error {
		waited += d
		clock = clock.Add(d)
		return nil
	}
	var rec recorder
	if err := f.Run(context.Background(), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.ticks) != 3 {
		t.Fatalf("got %d ticks, want all 3 handed on", len(rec.ticks))
	}
	if waited != time.Second {
		t.Errorf("the replay waited %s, want the 1 s between the good ticks", waited)
	}
}

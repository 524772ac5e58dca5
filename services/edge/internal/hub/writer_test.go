package hub_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
)

// writer appends events as a scorer does, through a stream.Writer with
// notifications on: one tick per event, on one partition, several ticks per
// Write. Each event's "ingest_ts" is the time just before its Write, so the
// hub's Pipeline metric, and a subscriber, can tell how long it took.
type writer struct {
	w           *stream.Writer
	topic       string // one of its own, so no run replays another's offsets
	underlyings []string
	written     atomic.Int64 // events written, which is also the next offset
}

// writers numbers the writers' topics.
var writers atomic.Int64

func newWriter(t testing.TB, rdb redis.UniversalClient, underlyings ...string) *writer {
	t.Helper()
	w, err := stream.NewWriter(rdb, stream.WriterConfig{Shards: shards, TTL: time.Hour, Notify: true})
	if err != nil {
		t.Fatal(err)
	}
	return &writer{w: w, topic: fmt.Sprintf("bench-%d", writers.Add(1)), underlyings: underlyings}
}

// run writes batches of perBatch events, one batch every interval or back
// to back when interval is 0, until ctx ends or n events are written (n 0
// means no bound). It returns the first error of a Write.
func (w *writer) run(ctx context.Context, perBatch int, interval time.Duration, n int64) error {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	var b stream.Batch
	for n == 0 || w.written.Load() < n {
		if tick != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-tick:
			}
		}
		b.Reset()
		now := strconv.FormatInt(time.Now().UnixNano(), 10)
		for range perBatch {
			off := w.written.Load() + int64(b.Len())
			u := w.underlyings[int(off)%len(w.underlyings)]
			b.Add(stream.Shard(u, shards), w.topic, 0, off, u,
				[]byte(`{"n":"w`+strconv.FormatInt(off, 10)+`","ingest_ts":`+now+`}`))
		}
		if _, err := w.w.Write(ctx, &b); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		w.written.Add(int64(b.Len()))
	}
	return nil
}

// waitFor waits until at least n events are written.
func (w *writer) waitFor(t testing.TB, n int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d events are written", n), func() bool { return w.written.Load() >= n })
}

// streamIDs returns the ids of a shard's entries after one id up to another.
func streamIDs(t testing.TB, rdb redis.UniversalClient, shard int, after, through string) []string {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), stream.Key(shard), "("+after, through).Result()
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return ids
}

func equalIDs(a, b []string) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// diffIDs describes where two lists of ids part.
func diffIDs(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at %d: got %s, want %s", i, got[i], want[i])
		}
	}
	return fmt.Sprintf("one is a prefix of the other (%d and %d)", len(got), len(want))
}

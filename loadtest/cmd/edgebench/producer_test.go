package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liveflow/liveflow/loadtest/internal/frames"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/stream"
)

// TestProducerWritesLikeTheScorer writes to a real redis-server and reads
// the shard streams back as an edge would.
func TestProducerWritesLikeTheScorer(t *testing.T) {
	rdb, _ := redistest.Client(t)
	const shards = 4
	w, err := stream.NewWriter(rdb, stream.WriterConfig{Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPool(500, 1, 40)
	if err != nil {
		t.Fatal(err)
	}
	prod := newProducer(w, p, 2000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now().UnixNano()
	go prod.run(ctx)

	var lo, hi atomic.Int64
	first, err := prod.mark(ctx, &lo)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); prod.next.Load() < first+600; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d events written in 10 s at 2000/s", prod.next.Load()-first)
		}
		time.Sleep(10 * time.Millisecond)
	}
	last, err := prod.mark(ctx, &hi)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-prod.done
	end := time.Now().UnixNano()
	if lo.Load() != first || hi.Load() != last || last < first+600 {
		t.Fatalf("marks %d, %d stored as %d, %d", first, last, lo.Load(), hi.Load())
	}

	total := int64(0)
	for shard := range shards {
		msgs, err := rdb.XRange(context.Background(), stream.Key(shard), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		prev := int64(-1)
		for _, m := range msgs {
			u, e := m.Values[stream.FieldUnderlying].(string), m.Values[stream.FieldEvent].(string)
			seq := checkEntry(t, p, shard, u, e, start, end)
			if seq <= prev {
				t.Fatalf("shard %d: write %d after %d", shard, seq, prev)
			}
			prev = seq
		}
		if len(msgs) > 0 {
			applied := rdb.HGet(context.Background(), stream.Key(shard)+":applied",
				fmt.Sprintf("%s/%d", prod.topic, shard)).Val()
			if applied != fmt.Sprint(prev) {
				t.Errorf("shard %d: applied offset %q, want %d", shard, applied, prev)
			}
		}
		total += int64(len(msgs))
	}
	if total != prod.next.Load() {
		t.Errorf("%d entries in the streams, %d written", total, prod.next.Load())
	}
}

// checkEntry checks one stream entry against the pool and returns its write
// sequence number.
func checkEntry(t *testing.T, p *pool, shard int, u, e string, start, end int64) int64 {
	t.Helper()
	var ev struct {
		Key        string `json:"key"`
		Underlying string `json:"underlying"`
		IngestTS   int64  `json:"ingest_ts"`
	}
	if err := json.Unmarshal([]byte(e), &ev); err != nil {
		t.Fatalf("entry does not decode: %v", err)
	}
	part, seq, n, ok := frames.ParseKey([]byte(ev.Key))
	if !ok || part != int64(shard) || n != 0 {
		t.Fatalf("key %q, want <shard %d>.<seq>.0", ev.Key, shard)
	}
	want := p.at(seq).Underlying
	if u != want || ev.Underlying != want || stream.Shard(u, 4) != shard {
		t.Fatalf("write %d: underlying %q (field u %q) on shard %d, want %q",
			seq, ev.Underlying, u, shard, want)
	}
	if ev.IngestTS < start || ev.IngestTS > end {
		t.Fatalf("write %d stamped %d, outside the run [%d, %d]", seq, ev.IngestTS, start, end)
	}
	return seq
}

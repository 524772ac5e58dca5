package stream

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/localredis/redistest"
)

func TestShardIsStableAndSpread(t *testing.T) {
	// FNV-1a of "AAPL" is 0x58cd330b (checked with a Python one-liner);
	// other languages must agree on it.
	if got := Shard("AAPL", 16); got != 0x58cd330b%16 {
		t.Errorf("Shard(AAPL, 16) = %d, want %d", got, 0x58cd330b%16)
	}
	counts := make([]int, 16)
	for i := 0; i < 1600; i++ {
		counts[Shard(fmt.Sprintf("U%d", i), 16)]++
	}
	for s, n := range counts {
		if n < 50 || n > 150 {
			t.Errorf("shard %d got %d of 1600 underlyings; the hash spreads badly", s, n)
		}
	}
}

func TestWriteIsIdempotentPerTick(t *testing.T) {
	rdb := redistest.Universal(t)
	ctx := context.Background()
	w, err := NewWriter(rdb, WriterConfig{Shards: 4, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	var b Batch
	b.Add(1, "ticks", 0, 10, "AAPL", []byte(`{"n":1}`), []byte(`{"n":2}`))
	b.Add(1, "ticks", 3, 10, "AAPL", []byte(`{"n":3}`)) // same offset, other partition
	b.Add(2, "ticks", 0, 11, "MSFT", []byte(`{"n":4}`))
	if b.Len() != 4 {
		t.Fatalf("Len = %d, want 4", b.Len())
	}
	added, err := w.Write(ctx, &b)
	if err != nil || added != 4 {
		t.Fatalf("first Write = %d, %v; want 4", added, err)
	}

	// A replay of the same ticks, as after a crash before the offset commit,
	// adds nothing; a new tick in the same batch still goes through.
	b.Add(1, "ticks", 0, 12, "AAPL", []byte(`{"n":5}`))
	added, err = w.Write(ctx, &b)
	if err != nil || added != 1 {
		t.Fatalf("replayed Write = %d, %v; want 1", added, err)
	}

	entries, err := rdb.XRange(ctx, Key(1), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Values[FieldUnderlying].(string)+e.Values[FieldEvent].(string))
	}
	want := []string{`AAPL{"n":1}`, `AAPL{"n":2}`, `AAPL{"n":3}`, `AAPL{"n":5}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("shard 1 holds %v, want %v", got, want)
	}
	ttl, err := rdb.TTL(ctx, Key(1)).Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Errorf("stream TTL = %v, %v; want up to 1h", ttl, err)
	}
}

func TestWriteSurvivesScriptFlush(t *testing.T) {
	rdb := redistest.Universal(t)
	ctx := context.Background()
	w, err := NewWriter(rdb, WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	var b Batch
	b.Add(0, "ticks", 0, 1, "SPY", []byte(`{}`))
	if added, err := w.Write(ctx, &b); err != nil || added != 1 {
		t.Fatalf("Write after SCRIPT FLUSH = %d, %v; want 1", added, err)
	}
}

func TestWriterConfigRejects(t *testing.T) {
	for _, cfg := range []WriterConfig{{Shards: -1}, {MaxLen: -1}, {TTL: time.Millisecond}} {
		if _, err := NewWriter(nil, cfg); err == nil {
			t.Errorf("NewWriter(%+v) accepted a bad config", cfg)
		}
	}
}

// Package hubtest helps tests drive a Hub against a real redis-server.
package hubtest

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

// XAdd writes an event the way the scorer does, through a stream.Writer
// with notifications on, to the shard stream of its underlying among shards,
// and returns the entry id. event is the event's JSON without its "id".
//
// The id is read back after the write, so XAdd calls are serialized and
// nothing else may write to the same shard at the same time.
func XAdd(tb testing.TB, rdb redis.UniversalClient, shards int, underlying, event string) string {
	tb.Helper()
	xadd.Lock()
	defer xadd.Unlock()
	ctx := context.Background()
	w, err := stream.NewWriter(rdb, stream.WriterConfig{Shards: shards, TTL: time.Hour, Notify: true})
	if err != nil {
		tb.Fatalf("hubtest: %v", err)
	}
	// Each call is a tick of its own partition, so no call is ever taken
	// for the replay of another.
	xadd.partition++
	shard := stream.Shard(underlying, shards)
	var b stream.Batch
	b.Add(shard, "hubtest", xadd.partition, 0, underlying, []byte(event))
	if _, err := w.Write(ctx, &b); err != nil {
		tb.Fatalf("hubtest: write %s: %v", underlying, err)
	}
	last, err := rdb.XRevRangeN(ctx, stream.Key(shard), "+", "-", 1).Result()
	if err != nil || len(last) != 1 {
		tb.Fatalf("hubtest: read back the entry of %s: %v", underlying, err)
	}
	return last[0].ID
}

// xadd serializes XAdd and numbers its ticks.
var xadd struct {
	sync.Mutex
	partition int32
}

// Close closes h without waiting out the readers' XREAD BLOCK: go-redis
// does not abort a blocked read when its context ends, so it unblocks the
// readers' connections with CLIENT UNBLOCK until Close returns. rdb must
// reach the server h reads.
func Close(tb testing.TB, h *hub.Hub, rdb redis.UniversalClient) {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Close()
	}()
	deadline := time.After(10 * time.Second)
	for {
		UnblockReaders(rdb)
		select {
		case <-done:
			return
		case <-deadline:
			tb.Errorf("hubtest: hub did not close within 10s")
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// UnblockReaders ends the XREAD BLOCK of every connection blocked in Redis,
// on every master of a cluster, as a new entry would; a hub reader then
// notices that its hub closed. Errors are ignored: callers repeat it until
// the hub has closed.
func UnblockReaders(rdb redis.UniversalClient) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = redistest.ForEachNode(ctx, rdb, func(ctx context.Context, node *redis.Client) error {
		unblock(ctx, node)
		return nil
	})
}

// unblock unblocks the blocked connections of one server.
func unblock(ctx context.Context, rdb *redis.Client) {
	list, err := rdb.ClientList(ctx).Result()
	if err != nil {
		return
	}
	for _, line := range strings.Split(list, "\n") {
		if !strings.Contains(line, " flags=b ") {
			continue
		}
		id, ok := strings.CutPrefix(strings.Fields(line)[0], "id=")
		if n, err := strconv.ParseInt(id, 10, 64); ok && err == nil {
			rdb.ClientUnblock(ctx, n)
		}
	}
}

// Package hubtest helps tests drive a Hub against a real redis-server.
package hubtest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

// XAdd writes an event the way the scorer does, to the shard stream of its
// underlying among shards, and returns the entry id. event is the event's
// JSON without its "id".
func XAdd(tb testing.TB, rdb redis.UniversalClient, shards int, underlying, event string) string {
	tb.Helper()
	id, err := rdb.XAdd(context.Background(), &redis.XAddArgs{
		Stream: stream.Key(stream.Shard(underlying, shards)),
		Values: []any{stream.FieldUnderlying, underlying, stream.FieldEvent, event},
	}).Result()
	if err != nil {
		tb.Fatalf("hubtest: xadd %s: %v", underlying, err)
	}
	return id
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
// as a new entry would; a hub reader then notices that its hub closed.
// Errors are ignored: callers repeat it until the hub has closed.
func UnblockReaders(rdb redis.UniversalClient) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
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

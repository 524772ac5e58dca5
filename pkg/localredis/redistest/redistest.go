// Package redistest gives tests a private, real redis-server.
package redistest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/localredis"
)

// Start launches a redis-server for the test and stops it at cleanup. A
// missing redis-server fails the test with instructions; it is never skipped.
func Start(tb testing.TB) *localredis.Server {
	tb.Helper()
	s, err := localredis.Start(context.Background(), localredis.Options{})
	if err != nil {
		tb.Fatalf("%v (make test installs it)", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Client starts a server and returns a client for it, closed at cleanup.
func Client(tb testing.TB) (*redis.Client, *localredis.Server) {
	tb.Helper()
	s := Start(tb)
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr()})
	tb.Cleanup(func() { rdb.Close() })
	return rdb, s
}

// Package redistest gives tests a private, real redis-server, or a private
// Redis Cluster.
//
// Universal returns a client of whichever the environment asks for: a single
// server by default, or, with LIVEFLOW_TEST_REDIS=cluster, a Redis Cluster of
// three masters started for the test alone. A suite written against
// Universal thus runs unchanged against both (`make test-scale` runs the
// cluster-capable suites that way).
package redistest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/localredis"
)

// EnvMode names the environment variable that picks what Universal starts:
// "single" (or unset) or "cluster".
const EnvMode = "LIVEFLOW_TEST_REDIS"

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

// Cluster starts a Redis Cluster for the test and stops it at cleanup.
func Cluster(tb testing.TB, opts localredis.ClusterOptions) *localredis.Cluster {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := localredis.StartCluster(ctx, opts)
	if err != nil {
		tb.Fatalf("%v (make test installs redis-server)", err)
	}
	tb.Cleanup(c.Stop)
	return c
}

// ClusterClient starts a cluster of three masters and returns a client of
// it, closed at cleanup.
func ClusterClient(tb testing.TB) (*redis.ClusterClient, *localredis.Cluster) {
	tb.Helper()
	c := Cluster(tb, localredis.ClusterOptions{})
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { rdb.Close() })
	return rdb, c
}

// Universal returns a client of a private single server, or of a private
// cluster when LIVEFLOW_TEST_REDIS=cluster, closed at cleanup. Any other
// value fails the test.
func Universal(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	mode, err := Mode()
	if err != nil {
		tb.Fatal(err)
	}
	if mode == "cluster" {
		rdb, _ := ClusterClient(tb)
		return rdb
	}
	rdb, _ := Client(tb)
	return rdb
}

// Mode returns what LIVEFLOW_TEST_REDIS asks for: "single" or "cluster".
func Mode() (string, error) {
	switch m := os.Getenv(EnvMode); m {
	case "", "single":
		return "single", nil
	case "cluster":
		return m, nil
	default:
		return "", fmt.Errorf("redistest: %s=%q: want single or cluster", EnvMode, m)
	}
}

// ForEachNode runs f on the client of every master of a cluster client, or
// on rdb itself for a single server: for commands about connections or
// server state, which a cluster client would send to one arbitrary node.
func ForEachNode(ctx context.Context, rdb redis.UniversalClient, f func(context.Context, *redis.Client) error) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, f)
	}
	if c, ok := rdb.(*redis.Client); ok {
		return f(ctx, c)
	}
	return fmt.Errorf("redistest: client %T is neither a single-server nor a cluster client", rdb)
}

// NodeFor returns the client of the node that holds key: rdb itself for a
// single server, the key's master for a cluster.
func NodeFor(ctx context.Context, rdb redis.UniversalClient, key string) (*redis.Client, error) {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.MasterForKey(ctx, key)
	case *redis.Client:
		return c, nil
	}
	return nil, fmt.Errorf("redistest: client %T is neither a single-server nor a cluster client", rdb)
}

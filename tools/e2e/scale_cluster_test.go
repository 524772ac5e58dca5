//go:build scale

package e2e

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/tape"
)

// TestScaleRedisClusterFailover runs the pipeline on a Redis Cluster of
// three masters with a replica each: two scorers, two edges (one per fan-out
// mode) and clients on both. While the tape plays, one master hands its
// slots to its replica (CLUSTER FAILOVER, as for maintenance) and another
// is killed (its replica takes over after the node timeout). Every client
// must still receive every event exactly once, in order, and the streams
// must hold exactly what the flow topic holds.
func TestScaleRedisClusterFailover(t *testing.T) {
	const ticks = 30_000
	path := synthTape(t, ticks)
	s := startScaleStack(t, 4, &localredis.ClusterOptions{Replicas: 1}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	group := "g-" + s.Topic
	var ops []string
	for range 2 {
		addr := freeAddr(t)
		ops = append(ops, addr)
		if _, err := s.Service(binDir, "scorer", "LIVEFLOW_OPS_ADDR="+addr, "LIVEFLOW_GROUP="+group,
			"LIVEFLOW_CHECKPOINT_INTERVAL=200ms", "LIVEFLOW_STREAM_NOTIFY=true"); err != nil {
			t.Fatal(err)
		}
	}
	var edges []string
	for _, fanout := range []string{"xread", "pubsub"} {
		addr := freeAddr(t)
		edges = append(edges, addr)
		if _, err := s.Service(binDir, "edge", "LIVEFLOW_HTTP_ADDR="+addr, "LIVEFLOW_FANOUT="+fanout); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range append(slices.Clone(ops), edges...) {
		waitHTTP(t, "http://"+a+"/readyz", 60*time.Second)
	}

	symbols := tapeUnderlyings(t, path)
	var wg sync.WaitGroup
	fctx, stopFollowers := context.WithCancel(ctx)
	defer func() { stopFollowers(); wg.Wait() }()
	var followers []*follower
	for i := range 4 {
		f := newFollower("ws://"+edges[i%2]+"/ws", symbols)
		if err := f.start(fctx, &wg); err != nil {
			t.Fatal(err)
		}
		followers = append(followers, f)
	}

	if _, err := s.Service(binDir, "ingest", "LIVEFLOW_OPS_ADDR="+freeAddr(t),
		"LIVEFLOW_FEED=file:"+path, "LIVEFLOW_REPLAY_SPEED=0.5"); err != nil {
		t.Fatal(err)
	}
	// The masters holding the most shards are the ones to lose.
	planned, crashed := busiestMasters(ctx, t, s.Cluster)
	time.Sleep(1500 * time.Millisecond)
	start := time.Now()
	promoted, err := s.Cluster.Failover(ctx, planned)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("planned failover of %s to %s took %s", planned, promoted, time.Since(start).Round(time.Millisecond))
	time.Sleep(time.Second)
	start = time.Now()
	if err := s.Cluster.Kill(crashed); err != nil {
		t.Fatal(err)
	}
	if err := s.Cluster.WaitHealthy(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("master %s killed; the cluster was healthy again after %s", crashed, time.Since(start).Round(time.Millisecond))

	waitConsumed(t, s, group, ticks)
	events := readStreams(t, s.Redis)
	checkFlowTopic(t, "cluster failover", s, events)
	waitReceived(t, followers, events, 60*time.Second)
	for i, f := range followers {
		f.check(t, "follower "+edges[i%2], events)
	}
	t.Logf("%d events, each received by %d clients", len(events), len(followers))

	// The services felt the crash, and came back.
	var scorerErrs, edgeErrs float64
	for _, a := range ops {
		scorerErrs += metric(t, "http://"+a+"/metrics", "liveflow_scorer_redis_errors_total")
		waitHTTP(t, "http://"+a+"/readyz", 10*time.Second)
	}
	for _, a := range edges {
		edgeErrs += metric(t, "http://"+a+"/metrics", "liveflow_edge_redis_errors_total")
		waitHTTP(t, "http://"+a+"/readyz", 10*time.Second)
	}
	t.Logf("failed writes retried by the scorers: %v; failed reads retried by the edges: %v", scorerErrs, edgeErrs)
	if edgeErrs == 0 {
		t.Error("the edges never failed a read: the crash did not reach them, so the test proves nothing")
	}
}

// busiestMasters returns the two masters that serve the most of the
// default 16 shards, most first.
func busiestMasters(ctx context.Context, t testing.TB, c *localredis.Cluster) (string, string) {
	t.Helper()
	ranges, err := c.Ranges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for n := range stream.DefaultShards {
		for _, r := range ranges {
			if slot := stream.Slot(n); slot >= r.Start && slot <= r.End {
				count[r.Master]++
			}
		}
	}
	var masters []string
	for m := range count {
		masters = append(masters, m)
	}
	slices.SortFunc(masters, func(a, b string) int { return count[b] - count[a] })
	if len(masters) < 2 {
		t.Fatalf("shards served by %v; want at least two masters", count)
	}
	t.Logf("shards per master: %v", count)
	return masters[0], masters[1]
}

// tapeUnderlyings returns the underlyings a tape trades, sorted.
func tapeUnderlyings(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := tape.NewReader(f)
	set := map[string]bool{}
	for {
		tk, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		set[tk.Underlying] = true
	}
	var out []string
	for u := range set {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

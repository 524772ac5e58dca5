package localredis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
)

// TestClusterSurvivesFailoverAndCrash starts three masters with a replica
// each, checks the default slot ranges, then moves a master by planned
// failover and kills another: every key written before stays readable.
func TestClusterSurvivesFailoverAndCrash(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := redistest.Cluster(t, localredis.ClusterOptions{Replicas: 1})

	ranges, err := c.Ranges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range ranges {
		if r.Master == "" || len(r.Replicas) != 1 {
			t.Errorf("slots %d-%d served by master %q and replicas %q, want one of each",
				r.Start, r.End, r.Master, r.Replicas)
		}
		got = append(got, fmt.Sprintf("%d-%d", r.Start, r.End))
	}
	// redis-cli's default split of 16384 slots over three masters.
	if fmt.Sprint(got) != "[0-5460 5461-10922 10923-16383]" {
		t.Errorf("slot ranges %s, want [0-5460 5461-10922 10923-16383]", got)
	}

	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), MaxRetries: 10})
	defer rdb.Close()
	const keys = 300
	for i := range keys {
		if err := rdb.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// WAIT on each master, so the replicas hold every key before the crash.
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		return m.Do(ctx, "WAIT", 1, 5000).Err()
	}); err != nil {
		t.Fatal(err)
	}

	first, err := c.MasterOf(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	promoted, err := c.Failover(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.MasterOf(ctx, 0); got != promoted || promoted == first {
		t.Errorf("after failover of %s, slot 0 is served by %s, want its replica %s", first, got, promoted)
	}

	last, err := c.MasterOf(ctx, 16383)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(last); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(ctx, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.MasterOf(ctx, 16383); got == last {
		t.Errorf("slot 16383 still served by the killed node %s", last)
	}
	// A fresh client reads the new slot map (following a crash without
	// one is redisconn's job, tested there).
	after := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer after.Close()
	for i := range keys {
		v, err := after.Get(ctx, fmt.Sprintf("k%d", i)).Int()
		if err != nil || v != i {
			t.Fatalf("k%d = %d, %v after failover and crash; want %d", i, v, err, i)
		}
	}
}

package redisconn

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
)

func TestNewPicksTheClientKind(t *testing.T) {
	cases := []struct {
		addrs   string
		mode    Mode
		cluster bool
		err     string
	}{
		{addrs: "127.0.0.1:6379"},
		{addrs: " 127.0.0.1:6379 ,", mode: ModeSingle},
		{addrs: "a:7000,b:7001,c:7002", cluster: true},
		{addrs: "redis-cluster:6379", mode: ModeCluster, cluster: true},
		{addrs: "a:7000,b:7001", mode: ModeSingle, err: "takes one address"},
		{addrs: "", err: "no redis address"},
		{addrs: "localhost", err: "want host:port"},
		{addrs: "a:0", err: "port"},
		{addrs: "a:1", mode: "sentinel", err: "want auto, single or cluster"},
	}
	for _, c := range cases {
		rdb, err := New(c.addrs, Options{Mode: c.mode})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("New(%q, %q) error %v, want one containing %q", c.addrs, c.mode, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q, %q): %v", c.addrs, c.mode, err)
			continue
		}
		_, isCluster := rdb.(*redis.ClusterClient)
		if isCluster != c.cluster {
			t.Errorf("New(%q, %q) is a cluster client: %v, want %v", c.addrs, c.mode, isCluster, c.cluster)
		}
		rdb.Close()
	}
}

func TestSingleServerAnswers(t *testing.T) {
	srv := redistest.Start(t)
	rdb, err := New(srv.Addr(), Options{PoolSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := rdb.Get(context.Background(), "k").Val(); got != "v" {
		t.Errorf("GET k = %q", got)
	}
}

func TestCheckAgreesWithNew(t *testing.T) {
	for _, c := range []struct {
		addrs string
		mode  Mode
		ok    bool
	}{
		{"127.0.0.1:6379", ModeAuto, true},
		{"a:7000,b:7001", "", true},
		{"a:7000", ModeCluster, true},
		{"a:7000,b:7001", ModeSingle, false},
		{"a", ModeAuto, false},
		{"a:1", "sentinel", false},
	} {
		err := Check(c.addrs, c.mode)
		if (err == nil) != c.ok {
			t.Errorf("Check(%q, %q) = %v, want ok %v", c.addrs, c.mode, err, c.ok)
		}
		rdb, nerr := New(c.addrs, Options{Mode: c.mode})
		if (nerr == nil) != (err == nil) {
			t.Errorf("New(%q, %q) = %v but Check = %v", c.addrs, c.mode, nerr, err)
		}
		if rdb != nil {
			rdb.Close()
		}
	}
}

// TestClusterClientFollowsACrashedMaster kills a master while a client
// writes: the client must reach the replica that took over within seconds,
// not at go-redis's periodic reload a minute later.
func TestClusterClientFollowsACrashedMaster(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := redistest.Cluster(t, localredis.ClusterOptions{Replicas: 1})
	rdb, err := New(c.Seeds(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("New(%q) = %T, want a cluster client", c.Seeds(), rdb)
	}
	const key = "{k}counter"
	if err := rdb.Set(ctx, key, 0, 0).Err(); err != nil {
		t.Fatal(err)
	}
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	master, err := c.MasterOf(ctx, int(slot))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Kill(master); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for {
		err := rdb.Incr(ctx, key).Err()
		if err == nil {
			break
		}
		if time.Since(killed) > 20*time.Second {
			t.Fatalf("no write reached the new master within 20s of the crash: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("writes resumed %s after the master was killed", time.Since(killed).Round(time.Millisecond))
}

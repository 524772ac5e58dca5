package topics

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestEnsureCreatesOnceAndKeepsExisting(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if n, err := Ensure(ctx, adm, "ticks", 6, nil); err != nil || n != 6 {
		t.Fatalf("Ensure on a missing topic = %d, %v; want 6", n, err)
	}
	// Asking for another count keeps the topic as it is and says so.
	if n, err := Ensure(ctx, adm, "ticks", 3, nil); err != nil || n != 6 {
		t.Fatalf("Ensure on an existing topic = %d, %v; want its 6 partitions", n, err)
	}
	if n, err := Ensure(ctx, adm, "state", 6, StateConfigs(1<<20)); err != nil || n != 6 {
		t.Fatalf("Ensure of a compacted topic = %d, %v", n, err)
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, "state")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := cfgs[0].Configs[0].MaybeValue(), cfgs[0].Err; err != nil || v == "" {
		t.Fatalf("describe configs of state: %v", err)
	}
	policy := ""
	for _, c := range cfgs[0].Configs {
		if c.Key == "cleanup.policy" {
			policy = c.MaybeValue()
		}
	}
	if policy != "compact" {
		t.Errorf("cleanup.policy of the state topic = %q, want compact", policy)
	}
	id, err := ID(ctx, adm, "ticks")
	if err != nil || len(id) < 16 {
		t.Fatalf("ID = %q, %v", id, err)
	}
	if _, err := ID(ctx, adm, "absent"); err == nil {
		t.Error("ID of a missing topic succeeded")
	}
}

func TestEnsureRetryGivesUpWithContext(t *testing.T) {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	retries := 0
	if _, err := EnsureRetry(ctx, kadm.NewClient(cl), "ticks", 1, nil, func(error) { retries++ }); err == nil {
		t.Fatal("EnsureRetry without a broker succeeded")
	}
	if retries == 0 {
		t.Error("EnsureRetry did not report the failed attempts")
	}
}

func TestSplitBrokers(t *testing.T) {
	got, err := SplitBrokers(" a:1, b:2 ,")
	if err != nil || len(got) != 2 || got[0] != "a:1" || got[1] != "b:2" {
		t.Errorf("SplitBrokers = %q, %v", got, err)
	}
	for _, bad := range []string{"", " , ", "a"} {
		if _, err := SplitBrokers(bad); err == nil {
			t.Errorf("SplitBrokers(%q) accepted", bad)
		}
	}
}

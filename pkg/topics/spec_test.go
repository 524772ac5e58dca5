package topics

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func newAdmin(t *testing.T) *kadm.Client {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func TestEnsureSpecCreatesThenChecks(t *testing.T) {
	adm := newAdmin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	flow := FlowSpec("flow", 4, 48*time.Hour)
	res, err := EnsureSpec(ctx, adm, flow)
	if err != nil || !res.Created || res.Partitions != 4 {
		t.Fatalf("EnsureSpec on a missing topic = %+v, %v; want created with 4 partitions", res, err)
	}
	cfg, err := Configs(ctx, adm, "flow")
	if err != nil {
		t.Fatal(err)
	}
	if cfg["cleanup.policy"] != "delete" || cfg["retention.ms"] != "172800000" {
		t.Errorf("created with cleanup.policy %q, retention.ms %q", cfg["cleanup.policy"], cfg["retention.ms"])
	}

	// The same spec again: present, nothing differs.
	res, err = EnsureSpec(ctx, adm, flow)
	if err != nil || res.Created || len(res.Mismatches) != 0 {
		t.Fatalf("EnsureSpec on a matching topic = %+v, %v", res, err)
	}

	// Another retention and partition count: warnings, not errors.
	res, err = EnsureSpec(ctx, adm, FlowSpec("flow", 6, time.Hour))
	if err != nil {
		t.Fatalf("differences that are not required failed: %v", err)
	}
	got := []string{}
	for _, m := range res.Mismatches {
		got = append(got, m.String())
	}
	want := []string{`partitions is "4", want "6"`, `retention.ms is "172800000", want "3600000"`}
	if strings.Join(got, "|") != strings.Join(want, "|") || res.Partitions != 4 {
		t.Errorf("mismatches = %q with %d partitions, want %q with 4", got, res.Partitions, want)
	}

	// A compacted topic where an event log is needed is refused, by name.
	if _, err := EnsureSpec(ctx, adm, StateSpec("state", 4, 1<<20)); err != nil {
		t.Fatal(err)
	}
	_, err = EnsureSpec(ctx, adm, FlowSpec("state", 4, time.Hour))
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), `cleanup.policy is "compact", want "delete"`) {
		t.Errorf("flow spec on a compacted topic: %v; want ErrMismatch naming cleanup.policy", err)
	}
	// And a state topic with the wrong partition count.
	_, err = EnsureSpec(ctx, adm, StateSpec("state", 8, 1<<20))
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "partitions") {
		t.Errorf("state spec with other partitions: %v; want ErrMismatch naming partitions", err)
	}
	// EnsureSpecRetry does not retry a mismatch.
	retried := 0
	_, err = EnsureSpecRetry(ctx, adm, FlowSpec("state", 4, time.Hour), func(error) { retried++ })
	if !errors.Is(err, ErrMismatch) || retried != 0 {
		t.Errorf("EnsureSpecRetry on a mismatch = %v after %d retries", err, retried)
	}
}

func TestSameSettingTreatsPoliciesAsSets(t *testing.T) {
	if !sameSetting("cleanup.policy", "delete,compact", "compact, delete") {
		t.Error("a policy list in another order differs")
	}
	if sameSetting("cleanup.policy", "compact", "compact,delete") {
		t.Error("compact equals compact,delete")
	}
	if sameSetting("retention.ms", "1", "2") {
		t.Error("different retentions are the same")
	}
}

func TestDeadLetterSpecKeepsPartitionsAndRecords(t *testing.T) {
	adm := newAdmin(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := EnsureSpec(ctx, adm, DeadLetterSpec("ticks.dlq", 4, DefaultDLQRetention))
	if err != nil || !res.Created {
		t.Fatalf("EnsureSpec = %+v, %v; want the topic created", res, err)
	}
	cfg, err := Configs(ctx, adm, "ticks.dlq")
	if err != nil {
		t.Fatal(err)
	}
	if cfg["cleanup.policy"] != "delete" || cfg["retention.ms"] != "1209600000" {
		t.Errorf("created with cleanup.policy %q, retention.ms %q", cfg["cleanup.policy"], cfg["retention.ms"])
	}
	// Refused records keep their partition number: a topic with fewer
	// partitions than the ticks cannot hold them.
	_, err = EnsureSpec(ctx, adm, DeadLetterSpec("ticks.dlq", 12, DefaultDLQRetention))
	if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), "partitions") {
		t.Errorf("dead-letter spec with other partitions: %v; want ErrMismatch naming partitions", err)
	}
}

//go:build scale

package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/tools/stack"
)

// scalePartitions is the partition count of the scorers test's topic: as
// many as the most scorers it runs, so each rebalance moves a countable few.
const scalePartitions = 4

// released matches a scorer's log line for partitions it gave up, with
// their list.
var released = regexp.MustCompile(`partitions released.*"partitions": \[([0-9, ]*)\]`)

// TestScaleScorersJoinAndLeave plays a tape at market pace through three
// scorers sharing the group; a fourth joins midway and one of the first
// three leaves (SIGTERM) later. The rebalances are cooperative: on the join
// only the partition the newcomer takes changes hands, and on the leave only
// the leaver's. The events in the streams and the flow topic must be exactly
// those one scorer alone produces from the same tape.
func TestScaleScorersJoinAndLeave(t *testing.T) {
	const ticks = 30_000 // what runScorers, the reference, replays
	path := synthTape(t, ticks)
	want := runScorers(t, path, 1, false)

	logs := &lineLog{}
	s := startScaleStack(t, scalePartitions, nil, logs)
	group := "g-" + s.Topic
	env := []string{"LIVEFLOW_GROUP=" + group, "LIVEFLOW_CHECKPOINT_INTERVAL=200ms",
		"LIVEFLOW_SESSION_TIMEOUT=6s"}
	scorer := func() (*stack.Process, string) {
		t.Helper()
		ops := freeAddr(t)
		p, err := s.Service(binDir, "scorer", append(env, "LIVEFLOW_OPS_ADDR="+ops)...)
		if err != nil {
			t.Fatal(err)
		}
		return p, ops
	}
	var first []*stack.Process
	var ops []string
	for range 3 {
		p, a := scorer()
		first, ops = append(first, p), append(ops, a)
	}
	for _, a := range ops {
		waitHTTP(t, "http://"+a+"/readyz", 60*time.Second)
	}
	waitMembers(t, s, group, 3)

	if _, err := s.Service(binDir, "ingest", "LIVEFLOW_OPS_ADDR="+freeAddr(t),
		"LIVEFLOW_FEED=file:"+path, "LIVEFLOW_REPLAY_SPEED=0.5"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	mark := logs.len()
	_, joinOps := scorer()
	waitHTTP(t, "http://"+joinOps+"/readyz", 60*time.Second)
	waitMembers(t, s, group, 4)
	joinReleased := releasedSince(t, logs, mark)

	time.Sleep(time.Second)
	mark = logs.len()
	if err := first[0].Stop(15 * time.Second); err != nil && !strings.Contains(err.Error(), "signal") {
		t.Fatalf("scorer leaving: %v", err)
	}
	waitMembers(t, s, group, 3)
	leaveReleased := releasedSince(t, logs, mark)

	waitConsumed(t, s, group, ticks)
	got := readStreams(t, s.Redis)
	compareEventSets(t, "three scorers, one joining and one leaving", got, want)
	dups := checkFlowTopic(t, "three scorers, one joining and one leaving", s, got)

	// Four partitions over four members is one each: the newcomer's one
	// came from the member that held two, and only that one moved.
	if len(joinReleased) != 1 || len(joinReleased[0]) != 1 {
		t.Errorf("on the join, partitions released %v; want a single partition from one member", joinReleased)
	}
	// The leaver released what it held, and no one else released anything.
	if len(leaveReleased) != 1 || len(leaveReleased[0]) != 1 {
		t.Errorf("on the leave, partitions released %v; want the leaver's one partition only", leaveReleased)
	}
	t.Logf("%d events; partitions released on the join %v, on the leave %v; %d duplicate flow records",
		len(got), joinReleased, leaveReleased, dups)
}

// releasedSince waits for the rebalance to settle and returns, per log line
// since mark that names any, the partitions a scorer released.
func releasedSince(t testing.TB, logs *lineLog, mark int) [][]string {
	t.Helper()
	time.Sleep(time.Second) // a release is logged before the group settles
	var out [][]string
	for _, line := range logs.matching(released, mark) {
		// A cooperative rebalance calls every member back, most of them
		// with nothing to release.
		if list := released.FindStringSubmatch(line)[1]; list != "" {
			out = append(out, strings.Split(strings.ReplaceAll(list, " ", ""), ","))
		}
	}
	return out
}

// waitMembers waits until the group is stable with n members that share
// every partition of the topic, and checks that it balances cooperatively.
func waitMembers(t testing.TB, s *stack.Stack, group string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		groups, err := adm.DescribeGroups(ctx, group)
		cancel()
		if err == nil {
			g := groups[group]
			owned := 0
			for _, m := range g.Members {
				if a, ok := m.Assigned.AsConsumer(); ok {
					for _, tp := range a.Topics {
						owned += len(tp.Partitions)
					}
				}
			}
			last = g.State + " " + g.Protocol
			if g.State == "Stable" && len(g.Members) == n && owned == scalePartitions {
				if g.Protocol != "cooperative-sticky" {
					t.Errorf("group %s balances with %q, want cooperative-sticky", group, g.Protocol)
				}
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("group %s did not settle with %d members within 60s (last: %s)", group, n, last)
}

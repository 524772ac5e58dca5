package scorer

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/stream"
)

// A tick's time closes the open windows of every underlying of its
// partition, so a spot tick of one underlying can emit another's split. That
// split must reach the other underlying's shard stream, where its
// subscribers read, routed by its own underlying.
func TestEventsGoToTheirOwnUnderlyingsShard(t *testing.T) {
	t.Parallel()
	a, b := samePartitionOtherShard(t)
	h := newHarness(t)
	symA := fmt.Sprintf("%-6s261218C00100000", a)
	h.produce(t,
		spot(a, 1, 100),
		quote(a, symA, 1, 1.00, 1.10),
		trade(a, symA, 2, 1.10, 10),
		trade(a, symA, 2, 1.10, 20),
		// Past the split's window: b's tick closes a's split.
		spot(b, 4, 50),
	)
	h.start(t, "scorers")
	h.waitCaughtUp(t, "scorers", "ticks committed")
	// events fails the test for an entry in another shard than its
	// underlying's, or routed by another underlying.
	got := h.events(t)
	kinds := map[string]int{}
	for _, e := range got[a] {
		kinds[e.Kind]++
	}
	if kinds[flow.KindTrade] != 2 || kinds[flow.KindSplit] != 1 {
		t.Errorf("%s events by kind %v, want 2 trades and a split", a, kinds)
	}
	if len(got[b]) != 0 {
		t.Errorf("%s has events %+v, want none", b, got[b])
	}
}

// samePartitionOtherShard returns two underlyings whose ticks share a
// partition of the harness's topic but whose events go to different shards.
func samePartitionOtherShard(tb testing.TB) (string, string) {
	tb.Helper()
	part := kgo.StickyKeyPartitioner(nil).ForTopic(topic)
	roots := []string{"AAPL", "MSFT", "SPY", "QQQ", "TSLA", "NVDA", "AMD", "META", "IWM", "GOOG", "AMZN", "NFLX"}
	for i, x := range roots {
		for _, y := range roots[i+1:] {
			px := part.Partition(&kgo.Record{Key: []byte(x)}, partitions)
			py := part.Partition(&kgo.Record{Key: []byte(y)}, partitions)
			if px == py && stream.Shard(x, shards) != stream.Shard(y, shards) {
				return x, y
			}
		}
	}
	tb.Fatal("no two underlyings share a partition but not a shard")
	return "", ""
}

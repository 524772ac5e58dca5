package edge

import (
	"context"
	"errors"
	"testing"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

func TestReadHistoryRetriesUntilARead(t *testing.T) {
	failed := errors.New("i/o timeout")

	calls := 0
	err := readHistory(context.Background(), func(ctx context.Context) error {
		calls++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("a history read runs without a deadline")
		}
		if calls < historyAttempts {
			return failed
		}
		return nil
	})
	if err != nil || calls != historyAttempts {
		t.Errorf("read succeeding on try %d: got %v after %d calls, want nil", historyAttempts, err, calls)
	}

	calls = 0
	err = readHistory(context.Background(), func(context.Context) error {
		calls++
		return failed
	})
	if !errors.Is(err, failed) || calls != historyAttempts {
		t.Errorf("read that always fails: got %v after %d calls, want %v after %d",
			err, calls, failed, historyAttempts)
	}

	// A connection that ends stops the retries.
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	err = readHistory(ctx, func(context.Context) error {
		calls++
		cancel()
		return failed
	})
	if !errors.Is(err, failed) || calls != 1 {
		t.Errorf("read on a closed connection: got %v after %d calls, want %v after 1", err, calls, failed)
	}
}

// A client that resumes on a node behind the one it left must not get the
// events it had again when this node's live delivery reaches them.
func TestResumedSubscriptionSkipsWhatTheClientHad(t *testing.T) {
	sub, err := newSubscription("s", &filter.Filter{Symbols: []string{"AAPL"}})
	if err != nil {
		t.Fatal(err)
	}
	sub.seen = map[int]string{3: "1700000000500-1"}
	for _, tc := range []struct {
		shard int
		entry string
		want  bool
	}{
		{3, "1700000000400-7", false},
		{3, "1700000000500-1", false},
		{3, "1700000000500-2", true},
		{3, "1700000000600-0", true},
		{5, "1700000000400-0", true}, // no id of shard 5 was given
	} {
		ev := &hub.Event{Shard: tc.shard, Entry: tc.entry, Underlying: "AAPL", Kind: "trade"}
		if got := sub.wants(ev); got != tc.want {
			t.Errorf("entry %d-%s after resuming at %v: wants %v, want %v", tc.shard, tc.entry, sub.seen, got, tc.want)
		}
	}
}

package scorer

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/testkit"
)

// sameEvents fails unless the flow topic, read as a reader would (dropping
// keys seen before), holds exactly the events of the shard streams, in the
// same order per underlying and with the same content.
func sameEvents(tb testing.TB, redis map[string][]flow.Event, topic []flow.Event) (dups int) {
	tb.Helper()
	got, dups := flowByUnderlying(topic)
	if len(got) != len(redis) {
		tb.Errorf("flow topic has events of %d underlyings, the streams of %d", len(got), len(redis))
	}
	for u, want := range redis {
		have := got[u]
		if len(have) != len(want) {
			tb.Errorf("%s: %d events on the flow topic, %d in the streams", u, len(have), len(want))
			continue
		}
		for i := range want {
			// The streams carry JSON, so nil and empty lists look alike
			// there; compare what a reader sees of each.
			w, h := want[i], have[i]
			w.Source, h.Source, w.Flags, h.Flags = flow.Source{}, flow.Source{}, 0, 0
			for j := range w.Fills {
				w.Fills[j].Source = flow.Source{}
			}
			if !reflect.DeepEqual(w, h) {
				tb.Errorf("%s event %d differs:\n topic   %+v\n streams %+v", u, i, h, w)
			}
		}
	}
	return dups
}

func TestFlowTopicCarriesTheStreamEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.start(t, "scorers")
	h.produce(t, session()...)
	h.waitCaughtUp(t, "scorers", "offsets committed to the end of the topic")

	// Offsets are committed only after Kafka acknowledged the flow
	// records, so the topic holds everything once they are.
	topic := h.flowRecords(t)
	if dups := sameEvents(t, h.events(t), topic); dups != 0 {
		t.Errorf("%d duplicate records without a replay", dups)
	}
	if got := testutil.ToFloat64(r.metrics.FlowRecords); got != sessionTrades {
		t.Errorf("flow_records = %v, want %d", got, sessionTrades)
	}
}

func TestFlowReplayRepeatsKeysOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.produce(t, session()...)
	first := h.start(t, "scorers")
	h.waitCaughtUp(t, "scorers", "first pass committed")
	first.stop(t)

	// A second group scores the topic again: the streams add nothing, the
	// flow topic receives every event a second time under the same key.
	h.start(t, "again")
	h.waitCaughtUp(t, "again", "replay committed")
	topic := h.flowRecords(t)
	if len(topic) != 2*sessionTrades {
		t.Fatalf("flow topic holds %d records after a replay, want %d", len(topic), 2*sessionTrades)
	}
	if dups := sameEvents(t, h.events(t), topic); dups != sessionTrades {
		t.Errorf("a reader dropped %d duplicates, want %d", dups, sessionTrades)
	}
}

// TestRefusedFlowRecordStopsWithoutCommit points the scorer at a flow topic
// that does not exist (and cannot be created): Run must fail with an error
// naming the topic, and the batch's offsets must stay uncommitted so that a
// restarted scorer produces its events.
func TestRefusedFlowRecordStopsWithoutCommit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	m := NewMetrics(prometheus.NewRegistry())
	s, err := New(Config{Brokers: h.brokers, Topic: topic, Group: "scorers", ClientID: "scorer-test",
		FlowTopic: "no-such-topic"}, h.w, &testkit.Logs{}, m)
	if err != nil {
		t.Fatal(err)
	}
	h.produce(t, spot("AAPL", 1, 200), trade("AAPL", aaplCall, 2, 5, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = s.Run(ctx)
	if !errors.Is(err, errProduce) {
		t.Fatalf("Run = %v, want an error wrapping errProduce", err)
	}
	t.Logf("Run: %v", err)
	if got := testutil.ToFloat64(m.FlowErrors); got != 1 {
		t.Errorf("flow_errors = %v, want 1", got)
	}
	if committed, _ := h.offsets(t, "scorers"); len(committed) != 0 {
		t.Errorf("offsets %v committed although the flow records failed", committed)
	}
}

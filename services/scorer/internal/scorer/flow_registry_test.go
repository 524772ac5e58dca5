package scorer

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/record"
	"github.com/liveflow/liveflow/pkg/testkit"
)

// TestFlowRecordsFramedForARegistry runs the scorer with a flow codec set up
// for a schema registry: every flow record must carry the registry framing
// with the registered id and decode to the events in the streams.
func TestFlowRecordsFramedForARegistry(t *testing.T) {
	t.Parallel()
	reg := srfake.New()
	defer reg.Close()
	rc, err := record.NewRegistry(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	codec, err := flow.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	if err := codec.UseRegistry(context.Background(), rc, record.Subject(flowTopic)); err != nil {
		t.Fatal(err)
	}
	id, _ := codec.RegistryID()

	h := newHarness(t)
	r := &run{metrics: NewMetrics(prometheus.NewRegistry()), log: &testkit.Logs{}}
	if r.s, err = New(Config{Brokers: h.brokers, Topic: topic, Group: "scorers", ClientID: "scorer-test",
		FlowTopic: flowTopic, FlowCodec: codec}, h.w, r.log, r.metrics); err != nil {
		t.Fatal(err)
	}
	r.run(t)
	h.produce(t, session()...)
	h.waitCaughtUp(t, "scorers", "offsets committed to the end of the topic")

	var events []flow.Event
	for _, rec := range h.read(t, flowTopic) {
		if got, ok := record.RegistryIDOf(rec.Value); !ok || got != id {
			t.Fatalf("flow record %d/%d starts % x; want the registry framing of id %d",
				rec.Partition, rec.Offset, rec.Value[:5], id)
		}
		var e flow.Event
		if err := codec.Decode(rec.Value, &e); err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	sameEvents(t, h.events(t), events)
}

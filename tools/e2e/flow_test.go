package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/tools/stack"
)

// flowRecord is one record of the flow topic as a reader sees it.
type flowRecord struct {
	partition int32
	offset    int64
	event     map[string]any // without ingest_ts and scored_ts, like readEvents
	scoredTS  any
}

// readFlowTopic reads the stack's flow topic to its end with read_committed
// and decodes every record.
func readFlowTopic(t testing.TB, s *stack.Stack) []flowRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers), kgo.ConsumeTopics(s.FlowTopic()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, s.FlowTopic())
	if err != nil {
		t.Fatal(err)
	}
	need := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			need[o.Partition] = o.Offset
		}
	})
	codec, err := flow.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	var out []flowRecord
	for len(need) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("flow topic %s not read to its end %v: %v", s.FlowTopic(), need, ctx.Err())
		}
		fetches.EachRecord(func(r *kgo.Record) {
			var e flow.Event
			if err := codec.Decode(r.Value, &e); err != nil {
				t.Fatalf("flow record %d/%d: %v", r.Partition, r.Offset, err)
			}
			if string(r.Key) != e.Underlying {
				t.Fatalf("flow record %d/%d keyed %q, underlying %q", r.Partition, r.Offset, r.Key, e.Underlying)
			}
			b, _ := json.Marshal(&e)
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			rec := flowRecord{partition: r.Partition, offset: r.Offset, event: m, scoredTS: m["scored_ts"]}
			delete(m, "ingest_ts")
			delete(m, "scored_ts")
			out = append(out, rec)
			if r.Offset+1 >= need[r.Partition] {
				delete(need, r.Partition)
			}
		})
	}
	return out
}

// checkFlowTopic requires the flow topic to hold the events of the shard
// streams: the same keys with the same content, none missing, none extra.
// A record whose key came before is a duplicate from a replay; it must be
// the same event (its scoring time aside), and it must follow the first
// copy in the same partition, which is what lets a reader drop it by key.
// It returns the number of duplicates.
func checkFlowTopic(t *testing.T, run string, s *stack.Stack, streams map[string]map[string]any) int {
	t.Helper()
	records := readFlowTopic(t, s)
	first := map[string]flowRecord{}
	got := map[string]map[string]any{}
	dups := 0
	for _, r := range records {
		key := fmt.Sprint(r.event["key"])
		if f, seen := first[key]; seen {
			dups++
			if !reflect.DeepEqual(f.event, r.event) || f.partition != r.partition {
				t.Errorf("%s: duplicate of %s at %d/%d differs from the first copy at %d/%d",
					run, key, r.partition, r.offset, f.partition, f.offset)
			}
			continue
		}
		first[key] = r
		got[key] = r.event
	}
	compareEventSets(t, run+": flow topic against the streams", got, streams)
	t.Logf("%s: %d flow records, %d events, %d duplicates", run, len(records), len(got), dups)
	return dups
}

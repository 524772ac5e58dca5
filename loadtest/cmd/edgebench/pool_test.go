package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/liveflow/liveflow/pkg/flow"
)

func TestPoolRendersScoredEvents(t *testing.T) {
	p, err := newPool(2000, 3, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.events) != 2000 || p.ticks < 2000 {
		t.Fatalf("%d events from %d ticks", len(p.events), p.ticks)
	}
	for i := 1; i < len(p.counts); i++ {
		if p.counts[i] > p.counts[i-1] {
			t.Fatalf("underlyings not ordered by events: %v", p.counts[:i+1])
		}
	}
	withFills := 0
	for i := range p.events {
		e := &p.events[i]
		b := e.render(nil, 7, int64(5000+i), 1796308200030000000)
		var got flow.Event
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("event %d does not decode: %v\n%s", i, err, b)
		}
		if want := fmt.Sprintf("7.%d.0", 5000+i); got.Key != want || got.IngestTS != 1796308200030000000 {
			t.Fatalf("event %d: key %q ingest_ts %d, want %q and the stamp", i, got.Key, got.IngestTS, want)
		}
		if got.Underlying != e.Underlying || got.Kind != e.Kind || got.Premium != e.Premium ||
			got.Score != e.Score || p.underlyings[e.und] != e.Underlying {
			t.Fatalf("event %d: attributes %+v do not match its JSON %s", i, e.Attrs, b)
		}
		if len(got.Reasons) == 0 || got.ScoredTS == 0 {
			t.Fatalf("event %d lacks reasons or scored_ts: %s", i, b)
		}
		if len(got.Fills) > 0 {
			withFills++
		}
	}
	if withFills == 0 {
		t.Error("no event carries fills; the pool lacks aggregates")
	}
	if p.at(2000) != &p.events[0] || p.at(2001) != &p.events[1] {
		t.Error("write seq does not go round the pool")
	}
}

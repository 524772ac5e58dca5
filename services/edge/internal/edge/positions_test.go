package edge_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/services/edge/internal/edge"
)

// The subscribed reply names, per shard, where live delivery starts. A
// client that resumes from those positions misses nothing, even from a shard
// it had no event of before it went away.
func TestResumeFromPositions(t *testing.T) {
	e := newEdge(t, edge.Limits{})
	aapl, other := stream.Shard("AAPL", shards), ""
	for _, u := range []string{"MSFT", "SPY", "TSLA", "NVDA", "AMD"} {
		if stream.Shard(u, shards) != aapl {
			other = u
			break
		}
	}
	before := e.xadd(t, "AAPL", `{"n":"0","kind":"trade"}`)

	c := e.dial(t)
	m := subscribe(t, c, "s", "AAPL", other)
	want := map[int]string{aapl: before, stream.Shard(other, shards): "0-0"}
	if len(m.Positions) != 2 {
		t.Fatalf("positions %q, want one per shard of AAPL and %s", m.Positions, other)
	}
	for _, id := range m.Positions {
		shard, entry, _ := strings.Cut(id, "-")
		n, err := strconv.Atoi(shard)
		if err != nil || want[n] != entry {
			t.Errorf("position %q, want the last entry of each shard %v", id, want)
		}
	}
	c.Conn().CloseNow()

	// Nothing reached the client, yet it resumes exactly.
	e.xadd(t, other, `{"n":"1","kind":"trade"}`)
	e.xadd(t, "AAPL", `{"n":"2","kind":"trade"}`)
	c2 := e.dial(t)
	ids, _ := json.Marshal(m.Positions)
	send(t, c2, fmt.Sprintf(`{"op":"subscribe","id":"s","resume_from":%s,"filter":{"symbols":["AAPL",%q]}}`,
		ids, other))
	m2 := read(t, c2)
	// The two events are in different shards and may carry the same
	// millisecond, so their order in the reply is not fixed; each once is.
	got := map[string]int{}
	for _, ev := range m2.Missed {
		for _, n := range []string{"1", "2"} {
			if strings.Contains(string(ev), `"n":"`+n+`"`) {
				got[n]++
			}
		}
	}
	if m2.Op != "subscribed" || m2.Resume != "complete" || len(m2.Missed) != 2 || got["1"] != 1 || got["2"] != 1 {
		t.Fatalf("resume from positions: got %s with missed %s, want events 1 and 2", show(m2), m2.Missed)
	}
	if len(m2.Positions) != 2 {
		t.Errorf("positions after the resume %q, want two", m2.Positions)
	}
}

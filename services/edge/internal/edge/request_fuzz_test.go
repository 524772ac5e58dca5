package edge

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

// FuzzRequest feeds arbitrary client frames through what a session does
// with a request before it touches the hub: decoding, checking the filter,
// parsing resume_from and testing events against the subscription. None may
// panic, and whatever is accepted must be in the normalized form the rest of
// the node relies on.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		`{"op":"subscribe","id":"s1","filter":{"symbols":["AAPL","tsla"],"kinds":["sweep"],"min_premium":100000}}`,
		`{"op":"subscribe","id":"s2","snapshot":50,"filter":{"symbols":["*"],"dte_min":0,"dte_max":7,"flags":["golden"]}}`,
		`{"op":"subscribe","id":"s3","resume_from":["3-1796308200031-0","11-1796308200040-2"],"filter":{"symbols":["SPY"]}}`,
		`{"op":"subscribe","id":"s4","resume_from":"2-1-1","filter":{"symbols":["SPY"],"sides":["AA"],"rights":["P"]}}`,
		`{"op":"unsubscribe","id":"s1"}`, `{"op":"ping"}`, `null`, `[]`, `{"filter":{"symbols":[""]}}`,
	} {
		f.Add([]byte(seed))
	}
	events := []*hub.Event{
		{Underlying: "AAPL", Kind: "sweep", Premium: 2e5, Score: 80, DTE: 3, Flags: []string{"golden"}},
		{Underlying: "SPY", Kind: "cancel"},
		{Underlying: "TSLA", Kind: "trade", Side: "BB", Sentiment: "bearish", Right: "P"},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req request
		if err := json.Unmarshal(data, &req); err != nil {
			return
		}
		if len(req.ResumeFrom) > 0 {
			if ids, err := parseResume(req.ResumeFrom, 16); err == nil {
				for shard, id := range ids {
					if shard < 0 || shard >= 16 || strings.Count(id, "-") != 1 {
						t.Fatalf("resume_from %s parsed to shard %d id %q", req.ResumeFrom, shard, id)
					}
				}
			}
		}
		sub, err := newSubscription(req.ID, req.Filter)
		if err != nil {
			return
		}
		if len(sub.symbols) == 0 || len(sub.symbols) > filter.MaxSymbols {
			t.Fatalf("accepted %d symbols", len(sub.symbols))
		}
		for _, s := range sub.symbols {
			if s == "*" && sub.firehose {
				continue
			}
			if _, ok := filter.Root(s); !ok || s != strings.ToUpper(s) {
				t.Fatalf("accepted symbol %q is not a normalized underlying", s)
			}
		}
		for _, ev := range events {
			sub.wants(ev)
		}
	})
}

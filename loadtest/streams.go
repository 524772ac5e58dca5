package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/loadtest/internal/account"
	"github.com/liveflow/liveflow/loadtest/internal/expect"
	"github.com/liveflow/liveflow/loadtest/internal/report"
	"github.com/liveflow/liveflow/loadtest/internal/watch"
	"github.com/liveflow/liveflow/pkg/stream"
)

// streamEvent is what the check reads of a stream entry's event.
type streamEvent struct {
	Key        string   `json:"key"`
	Underlying string   `json:"underlying"`
	Kind       string   `json:"kind"`
	Side       string   `json:"side"`
	Sentiment  string   `json:"sentiment"`
	Right      string   `json:"right"`
	Premium    float64  `json:"premium"`
	Score      int32    `json:"score"`
	DTE        int32    `json:"dte"`
	Flags      []string `json:"flags"`
}

// checkStreams compares the events of the window in the shard streams with
// the replay's: when clients miss events, it tells whether the scorer never
// wrote them (or wrote others) or the edge did not deliver them. It marks
// the events it finds misrouted in w.
func checkStreams(ctx context.Context, rdb *redis.Client, shards int, w *account.Window) (report.Streams, error) {
	st := report.Streams{Checked: true}
	seen := map[expect.Key]bool{}
	for shard := range shards {
		after := "-"
		for {
			msgs, err := rdb.XRangeN(ctx, stream.Key(shard), after, "+", 5000).Result()
			if err != nil {
				return st, fmt.Errorf("loadtest: read stream %s: %w", stream.Key(shard), err)
			}
			for _, m := range msgs {
				checkEntry(&st, m, w, seen)
				if k, ok := checkRoute(&st, shard, shards, m); ok {
					if w.Misrouted == nil {
						w.Misrouted = map[expect.Key]bool{}
					}
					w.Misrouted[k] = true
				}
			}
			if len(msgs) < 5000 {
				break
			}
			after = "(" + msgs[len(msgs)-1].ID
		}
	}
	var missing []expect.Key
	w.Each(func(e *expect.Event) {
		if !seen[e.Key] {
			missing = append(missing, e.Key)
		}
	})
	slices.Sort(missing)
	st.Missing = len(missing)
	for _, k := range missing[:min(5, len(missing))] {
		st.Examples = append(st.Examples, "not in the streams: "+k.String())
	}
	return st, nil
}

// checkEntry compares one entry with the window.
func checkEntry(st *report.Streams, m redis.XMessage, w *account.Window, seen map[expect.Key]bool) {
	raw, _ := m.Values["e"].(string)
	var e streamEvent
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		st.Undecodable++
		return
	}
	k, ok := keyOf([]byte(e.Key))
	if !ok || k.Offset() < w.From[k.Partition()] {
		return
	}
	st.Events++
	if seen[k] {
		st.Repeated++
		return
	}
	seen[k] = true
	want, ok := w.Event(k)
	if !ok {
		st.Extra++
		if len(st.Examples) < 10 {
			st.Examples = append(st.Examples, "not in the replay: "+e.Key+" "+e.Kind+" "+e.Underlying)
		}
		return
	}
	got := watch.Attrs{Underlying: e.Underlying, Kind: e.Kind, Side: e.Side, Sentiment: e.Sentiment,
		Right: e.Right, Premium: e.Premium, Score: e.Score, DTE: e.DTE, Flags: e.Flags}
	if !sameAttrs(&got, &want.Attrs) {
		st.Differ++
		if len(st.Examples) < 10 {
			st.Examples = append(st.Examples, fmt.Sprintf("differs: %s: streams %+v, replay %+v", e.Key, got, want.Attrs))
		}
	}
}

// checkRoute counts an entry filed under another underlying than its
// event's, or in another shard than its event's underlying maps to: the
// edge routes by the entry's underlying, so the event's watchers never see
// it and others do.
// It returns the key of a misrouted event.
func checkRoute(st *report.Streams, shard, shards int, m redis.XMessage) (expect.Key, bool) {
	u, _ := m.Values["u"].(string)
	raw, _ := m.Values["e"].(string)
	var e struct {
		Key        string `json:"key"`
		Underlying string `json:"underlying"`
	}
	if json.Unmarshal([]byte(raw), &e) != nil {
		return 0, false
	}
	if u == e.Underlying && stream.Shard(e.Underlying, shards) == shard {
		return 0, false
	}
	st.Misrouted++
	if len(st.Examples) < 10 {
		st.Examples = append(st.Examples, fmt.Sprintf("misrouted: %s, an event of %s, is filed under %s in shard %d",
			e.Key, e.Underlying, u, shard))
	}
	return keyOf([]byte(e.Key))
}

// sameAttrs reports whether a and b are equal.
func sameAttrs(a, b *watch.Attrs) bool {
	return a.Underlying == b.Underlying && a.Kind == b.Kind && a.Side == b.Side &&
		a.Sentiment == b.Sentiment && a.Right == b.Right && a.Premium == b.Premium &&
		a.Score == b.Score && a.DTE == b.DTE && slices.Equal(a.Flags, b.Flags)
}

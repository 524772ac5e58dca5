package main

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/liveflow/liveflow/loadtest/internal/watch"
	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/score"
	"github.com/liveflow/liveflow/pkg/synth"
)

// event is one scored event of the pool: its JSON cut around the two fields
// every write fills in (key and ingest_ts), and what filters test.
type event struct {
	mid  []byte // from the closing quote of "key" through `"ingest_ts":`
	tail []byte // from `,"scored_ts"` to the end
	und  int    // index into pool.underlyings
	watch.Attrs
}

// pool is a fixed list of realistic scored events, written round and round:
// write number seq is pool.events[seq % len(pool.events)], so anyone who
// knows seq knows the event without asking the writer.
type pool struct {
	events      []event
	underlyings []string // by events in the pool, most first
	counts      []int    // events per underlying, as underlyings
	ticks       int      // synthetic ticks it took
	bytes       int      // total size of the events' JSON as written
}

// poolStart is a Thursday 9:30 in New York, so the synthetic market trades
// in regular hours and expiries are days to weeks away.
var poolStart = time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC).UnixNano()

// poolTickGap paces the synthetic market at 2,000 ticks a second, the rate
// of the synthetic feed in `make run`.
const poolTickGap = int64(500 * time.Microsecond)

// newPool runs the synthetic market through the scoring engine, as the scorer
// does with each record (Apply, then Finish, Reasons and JSON), until size
// events came out.
func newPool(size int, seed int64, underlyings int) (*pool, error) {
	gen, err := synth.New(synth.Config{Seed: seed, Underlyings: underlyings})
	if err != nil {
		return nil, err
	}
	eng, err := score.New(score.Config{})
	if err != nil {
		return nil, err
	}
	p := &pool{events: make([]event, 0, size)}
	var out []flow.Event
	for i := 0; len(p.events) < size; i++ {
		if i > 1000*size {
			return nil, fmt.Errorf("edgebench: %d synthetic ticks gave only %d events", i, len(p.events))
		}
		t := gen.Next(poolStart + int64(i)*poolTickGap)
		t.IngestTS = t.TS
		out, err = eng.Apply(&t, score.Source{Offset: int64(i)}, t.TS, out[:0])
		if err != nil {
			return nil, fmt.Errorf("edgebench: synthetic tick %d: %w", i, err)
		}
		for j := range out {
			e, err := newEvent(&out[j])
			if err != nil {
				return nil, err
			}
			p.events = append(p.events, e)
		}
		p.ticks = i + 1
	}
	p.events = p.events[:size]
	p.index()
	return p, nil
}

// newEvent finishes and encodes a scored event and cuts its JSON into the
// template parts.
func newEvent(ev *flow.Event) (event, error) {
	ev.Finish()
	ev.Reasons = score.Reasons(ev)
	ev.Key = ""
	ev.IngestTS = 0
	b, err := ev.JSON()
	if err != nil {
		return event{}, fmt.Errorf("edgebench: encode event: %w", err)
	}
	const head, ingest = `{"key":"`, `,"ingest_ts":0,`
	i := bytes.Index(b, []byte(ingest))
	if !bytes.HasPrefix(b, []byte(head+`"`)) || i < 0 {
		return event{}, fmt.Errorf("edgebench: event JSON %.80q does not start with key "+
			"or lacks ingest_ts", b)
	}
	return event{
		mid:  b[len(head) : i+len(ingest)-2],
		tail: b[i+len(ingest)-1:],
		Attrs: watch.Attrs{
			Underlying: ev.Underlying, Kind: ev.Kind, Side: ev.Side, Sentiment: ev.Sentiment,
			Right: ev.Right, Premium: ev.Premium, Score: ev.Score, DTE: ev.DTE, Flags: ev.FlagNames,
		},
	}, nil
}

// render appends the JSON of write seq to dst: the event keyed as tick seq of
// partition part (its only event), stamped with ingest.
func (e *event) render(dst []byte, part int, seq, ingest int64) []byte {
	dst = append(dst, `{"key":"`...)
	dst = strconv.AppendInt(dst, int64(part), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, ".0"...)
	dst = append(dst, e.mid...)
	dst = strconv.AppendInt(dst, ingest, 10)
	return append(dst, e.tail...)
}

// index numbers the underlyings by their events in the pool, most first.
func (p *pool) index() {
	count := map[string]int{}
	for i := range p.events {
		count[p.events[i].Underlying]++
	}
	p.underlyings = p.underlyings[:0]
	for u := range count {
		p.underlyings = append(p.underlyings, u)
	}
	slices.SortFunc(p.underlyings, func(a, b string) int {
		return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(a, b))
	})
	pos := make(map[string]int, len(count))
	p.counts = make([]int, len(p.underlyings))
	for i, u := range p.underlyings {
		pos[u] = i
		p.counts[i] = count[u]
	}
	p.bytes = 0
	for i := range p.events {
		e := &p.events[i]
		e.und = pos[e.Underlying]
		p.bytes += len(e.render(nil, 0, int64(len(p.events)), time.Now().UnixNano()))
	}
}

// at returns the event of write seq.
func (p *pool) at(seq int64) *event { return &p.events[seq%int64(len(p.events))] }

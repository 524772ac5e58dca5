// Package expect works out what the pipeline must deliver. The scoring
// engine is deterministic: a partition's ticks, applied in offset order,
// give the same events with the same keys whichever scorer runs them. So a
// load test that reads the ticks back from Kafka and scores them as the
// scorer does knows every event the streams received, and with each
// client's filter, every event each client must receive.
package expect

import (
	"fmt"
	"strconv"

	"github.com/liveflow/liveflow/loadtest/internal/watch"
	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/score"
	"github.com/liveflow/liveflow/pkg/tick"
)

// Key is an event key "<partition>.<offset>.<n>" packed into 64 bits: 10
// for the partition, 44 for the offset and 10 for n.
type Key uint64

const (
	partitionBits = 10
	nBits         = 10
	offsetBits    = 64 - partitionBits - nBits
)

// MakeKey packs a key; ok is false when a part is negative or too large.
func MakeKey(partition, offset, n int64) (k Key, ok bool) {
	if partition < 0 || partition >= 1<<partitionBits || offset < 0 || offset >= 1<<offsetBits ||
		n < 0 || n >= 1<<nBits {
		return 0, false
	}
	return Key(partition<<(offsetBits+nBits) | offset<<nBits | n), true
}

// Parts unpacks k.
func (k Key) Parts() (partition, offset, n int64) {
	return int64(k >> (offsetBits + nBits)), int64(k>>nBits) & (1<<offsetBits - 1),
		int64(k) & (1<<nBits - 1)
}

// Partition returns the partition of k.
func (k Key) Partition() int32 { return int32(k >> (offsetBits + nBits)) }

// Offset returns the tick offset of k.
func (k Key) Offset() int64 { _, o, _ := k.Parts(); return o }

// String returns the key as events carry it.
func (k Key) String() string {
	p, o, n := k.Parts()
	return strconv.FormatInt(p, 10) + "." + strconv.FormatInt(o, 10) + "." + strconv.FormatInt(n, 10)
}

// Event is what a load test needs of a scored event.
type Event struct {
	Key      Key
	IngestTS int64 // of the tick it came from (the last one, for an aggregate)
	watch.Attrs
}

// Partition scores one partition's ticks as the scorer does.
type Partition struct {
	p    int32
	from int64
	eng  *score.Engine
	out  []flow.Event
}

// NewPartition returns a scorer of partition p with the engine config cfg
// (the scorer's flags; score.Defaults() for a scorer run with none). Events
// keyed below offset from are scored but not returned: they are outside the
// window a load test accounts for.
func NewPartition(p int32, cfg score.Config, from int64) (*Partition, error) {
	if p < 0 || p >= 1<<partitionBits {
		return nil, fmt.Errorf("expect: partition %d out of range", p)
	}
	eng, err := score.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("expect: %w", err)
	}
	return &Partition{p: p, from: from, eng: eng}, nil
}

// Apply scores the tick at offset and appends its events to dst. Like the
// scorer, it drops every event of a tick the engine rejects, and keeps the
// events of ticks below from out of dst.
func (s *Partition) Apply(t *tick.Tick, offset int64, dst []Event) ([]Event, error) {
	var err error
	s.out, err = s.eng.Apply(t, score.Source{Partition: s.p, Offset: offset}, t.IngestTS, s.out[:0])
	if err != nil {
		// The scorer counts such a tick and writes none of its events.
		return dst, nil
	}
	for i := range s.out {
		ev := &s.out[i]
		src := ev.Source
		if src.Offset < s.from {
			continue
		}
		k, ok := MakeKey(int64(src.Partition), src.Offset, int64(src.N))
		if !ok {
			return dst, fmt.Errorf("expect: event key %s does not fit", src.Key())
		}
		ev.Finish()
		dst = append(dst, Event{Key: k, IngestTS: ev.IngestTS, Attrs: watch.Attrs{
			Underlying: ev.Underlying, Kind: ev.Kind, Side: ev.Side, Sentiment: ev.Sentiment,
			Right: ev.Right, Premium: ev.Premium, Score: ev.Score, DTE: ev.DTE, Flags: ev.FlagNames,
		}})
	}
	return dst, nil
}

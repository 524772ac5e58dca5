package expect

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/tick"
)

// Offsets are per partition offsets of one topic.
type Offsets map[int32]int64

// Total returns the sum over partitions.
func (o Offsets) Total() int64 {
	var n int64
	for _, v := range o {
		n += v
	}
	return n
}

// Bounds returns the first offset each partition of topic still holds and
// the offset its next record will get.
func Bounds(ctx context.Context, cl *kgo.Client, topic string) (start, end Offsets, err error) {
	adm := kadm.NewClient(cl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("expect: start offsets of %q: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("expect: end offsets of %q: %w", topic, err)
	}
	start, end = Offsets{}, Offsets{}
	starts.Each(func(o kadm.ListedOffset) { start[o.Partition] = o.Offset })
	ends.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })
	if len(end) == 0 {
		return nil, nil, fmt.Errorf("expect: topic %q has no partitions", topic)
	}
	return start, end, nil
}

// Read consumes topic from offset from[p] up to, not including, to[p] for
// every partition p of to, and calls fn for each tick in offset order within
// its partition. Records that do not decode are skipped and counted, as the
// scorer skips them. It returns once every partition reached its end, or
// with ctx's error.
func Read(ctx context.Context, brokers []string, topic string, from, to Offsets,
	fn func(p int32, offset int64, t *tick.Tick) error) (undecodable int, err error) {
	codec, err := tick.NewCodec()
	if err != nil {
		return 0, err
	}
	starts := map[int32]kgo.Offset{}
	left := map[int32]int64{} // the offset each partition must reach
	for p, end := range to {
		if from[p] < end {
			starts[p] = kgo.NewOffset().At(from[p])
			left[p] = end
		}
	}
	if len(left) == 0 {
		return 0, nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: starts}),
		kgo.FetchMaxBytes(64<<20))
	if err != nil {
		return 0, fmt.Errorf("expect: kafka client: %w", err)
	}
	defer cl.Close()
	var t tick.Tick
	for len(left) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return undecodable, ctx.Err()
		}
		var ferr error
		fetches.EachError(func(_ string, p int32, err error) {
			ferr = fmt.Errorf("expect: read partition %d of %q: %w", p, topic, err)
		})
		if ferr != nil {
			return undecodable, ferr
		}
		var cbErr error
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end || cbErr != nil {
				return
			}
			if r.Offset == end-1 {
				delete(left, r.Partition)
			}
			t = tick.Tick{}
			if err := codec.Decode(r.Value, &t); err != nil {
				undecodable++
				return
			}
			cbErr = fn(r.Partition, r.Offset, &t)
		})
		if cbErr != nil {
			return undecodable, cbErr
		}
	}
	return undecodable, nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/score"
	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/pkg/topics"
)

// expected is what the scorers must have produced from the ticks Kafka
// holds: the same records scored again here, one engine per partition from
// its first offset, as a scorer that never failed would.
type expected struct {
	ticks  int                       // records in the ticks topic
	events map[string]map[string]any // by key, trimmed like the clients' copies
	under  map[string]string         // underlying of each event, by key
	bad    map[string]string         // "<partition>/<offset>" of each refused record: its reason
}

// readTopic returns every record of topic, by partition in offset order.
func readTopic(ctx context.Context, brokers []string, topic string) (map[int32][]*kgo.Record, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("faults: end offsets of %s: %w", topic, err)
	}
	need := map[int32]int64{}
	consume := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			need[o.Partition] = o.Offset
			consume[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	out := map[int32][]*kgo.Record{}
	if len(need) == 0 {
		return out, nil
	}
	rd, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: consume}))
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for len(need) > 0 {
		fetches := rd.PollFetches(rctx)
		if rctx.Err() != nil {
			return nil, fmt.Errorf("faults: %s not read to its end %v: %w", topic, need, rctx.Err())
		}
		fetches.EachRecord(func(r *kgo.Record) {
			out[r.Partition] = append(out[r.Partition], r)
			if r.Offset+1 >= need[r.Partition] {
				delete(need, r.Partition)
			}
		})
	}
	return out, nil
}

// expect scores the ticks topic again.
func expect(ctx context.Context, brokers []string, topic string) (*expected, error) {
	parts, err := readTopic(ctx, brokers, topic)
	if err != nil {
		return nil, err
	}
	codec, err := tick.NewCodec()
	if err != nil {
		return nil, err
	}
	x := &expected{events: map[string]map[string]any{}, under: map[string]string{}, bad: map[string]string{}}
	for p, recs := range parts {
		eng, err := score.New(score.Defaults())
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			x.ticks++
			place := strconv.Itoa(int(p)) + "/" + strconv.FormatInt(r.Offset, 10)
			var t tick.Tick
			if err := codec.Decode(r.Value, &t); err != nil {
				x.bad[place] = tick.Reason(err)
				continue
			}
			evs, err := eng.Apply(&t, score.Source{Partition: p, Offset: r.Offset}, 0, nil)
			if err != nil {
				reason := "invalid"
				var inv *tick.InvalidError
				if errors.As(err, &inv) {
					reason = inv.Reason
				}
				x.bad[place] = reason
				continue
			}
			for i := range evs {
				evs[i].Finish()
				evs[i].Reasons = score.Reasons(&evs[i])
				b, err := evs[i].JSON()
				if err != nil {
					return nil, err
				}
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					return nil, err
				}
				trim(m)
				x.events[evs[i].Key] = m
				x.under[evs[i].Key] = evs[i].Underlying
			}
		}
	}
	return x, nil
}

// keysFor returns the expected keys of events of the given underlyings,
// sorted.
func (x *expected) keysFor(symbols map[string]bool) []string {
	var out []string
	for k, u := range x.under {
		if symbols[u] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// deadLetters returns the dead-letter topic's records by the place of the
// record each set aside: its reason.
func deadLetters(ctx context.Context, brokers []string, topic string) (map[string]string, int, error) {
	parts, err := readTopic(ctx, brokers, topic)
	if err != nil {
		return nil, 0, err
	}
	out := map[string]string{}
	n := 0
	for _, recs := range parts {
		for _, r := range recs {
			n++
			h := map[string]string{}
			for _, x := range r.Headers {
				h[x.Key] = string(x.Value)
			}
			out[h[topics.HeaderPartition]+"/"+h[topics.HeaderOffset]] = h[topics.HeaderReason]
		}
	}
	return out, n, nil
}

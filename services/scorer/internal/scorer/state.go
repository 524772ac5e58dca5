package scorer

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A checkpoint of a partition is a set of records in the same partition of
// the state topic: one per underlying whose state changed, keyed by the
// underlying, then a watermark record holding the last tick offset the
// checkpoint covers. The topic is compacted, so it keeps the newest record
// per key. A new owner restores every underlying and consumes from the
// watermark on; an underlying saved after the watermark (a checkpoint cut
// short) carries its own offset, and the engine skips the ticks it holds.

// watermarkKey cannot be an underlying: roots are letters and digits.
const watermarkKey = "~watermark"

// maxStateRecord bounds one underlying's snapshot; the state topic is
// created to accept records this large.
const maxStateRecord = 16 << 20

// save writes the state of every underlying that changed since the last
// checkpoint, then the partitions' watermarks. On failure the changed
// underlyings stay marked and the next checkpoint writes them.
func (s *Scorer) save(ctx context.Context) {
	s.checkpoint = s.now()
	start := time.Now()
	s.mu.Lock()
	var records []*kgo.Record
	taken := map[int32][]string{}
	for p, eng := range s.engines {
		names := eng.TakeDirty()
		taken[p] = names
		for _, name := range names {
			b, err := eng.Snapshot(name)
			if err != nil || b == nil {
				continue
			}
			records = append(records, &kgo.Record{Topic: s.cfg.StateTopic, Partition: p, Key: []byte(name), Value: b})
		}
		if last, ok := s.last[p]; ok && len(names) > 0 {
			records = append(records, &kgo.Record{Topic: s.cfg.StateTopic, Partition: p,
				Key: []byte(watermarkKey), Value: []byte(strconv.FormatInt(last, 10))})
		}
	}
	s.mu.Unlock()
	if len(records) == 0 {
		return
	}

	if err := s.cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		s.mu.Lock()
		for p, names := range taken {
			if eng, ok := s.engines[p]; ok {
				eng.MarkDirty(names...)
			}
		}
		s.mu.Unlock()
		s.metrics.CheckpointErrors.Inc()
		s.log.Warnw("checkpoint failed; state will be saved with the next one", "err", err)
		return
	}
	s.metrics.CheckpointTime.Observe(time.Since(start).Seconds())
	s.metrics.CheckpointRecords.Add(float64(len(records)))
}

// partitionState is what the state topic holds for one partition.
type partitionState struct {
	snapshots map[string][]byte
	watermark int64 // -1 when no checkpoint completed
}

// restore runs when the group assigns partitions, before consuming them. It
// rebuilds each partition's engine from the state topic and moves the start
// offset back to the checkpoint's watermark, or to the partition's start when
// there is none, so the engine catches up on the ticks after its state. The
// committed offsets it is handed say from where events must be written again.
func (s *Scorer) restore(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	parts := offsets[s.cfg.Topic]
	if len(parts) == 0 {
		return offsets, nil
	}
	start := time.Now()
	states := map[int32]partitionState{}
	if s.cfg.StateTopic != "" {
		var err error
		if states, err = s.readState(ctx, parts); err != nil {
			// Without its state a partition is replayed from its start:
			// slower, but the output is the same.
			s.log.Warnw("cannot read checkpoints; replaying assigned partitions from their start", "err", err)
			states = map[int32]partitionState{}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for p, committed := range parts {
		eng := s.newEngine()
		st, ok := states[p]
		for name, b := range st.snapshots {
			if err := eng.Restore(b); err != nil {
				s.log.Warnw("skipping a checkpoint that does not restore", "partition", p, "underlying", name, "err", err)
			}
		}
		s.engines[p] = eng
		s.resume[p] = max(0, committed.EpochOffset().Offset)
		if ok && st.watermark >= 0 {
			parts[p] = kgo.NewOffset().At(st.watermark + 1)
		} else {
			parts[p] = kgo.NewOffset().AtStart()
		}
		s.log.Infow("partition restored", "partition", p, "underlyings", len(st.snapshots),
			"from", parts[p].EpochOffset().Offset, "committed", s.resume[p])
	}
	s.metrics.RestoreTime.Observe(time.Since(start).Seconds())
	return offsets, nil
}

// readState reads the state topic's partitions of the given numbers to their
// end and returns, per partition, the newest snapshot of each underlying and
// the watermark.
func (s *Scorer) readState(ctx context.Context, parts map[int32]kgo.Offset) (map[int32]partitionState, error) {
	adm := kadm.NewClient(s.cl)
	ends, err := adm.ListEndOffsets(ctx, s.cfg.StateTopic)
	if err != nil {
		return nil, fmt.Errorf("scorer: end offsets of %q: %w", s.cfg.StateTopic, err)
	}
	consume := map[int32]kgo.Offset{}
	need := map[int32]int64{}
	states := map[int32]partitionState{}
	for p := range parts {
		states[p] = partitionState{snapshots: map[string][]byte{}, watermark: -1}
		if end, ok := ends.Lookup(s.cfg.StateTopic, p); ok && end.Err == nil && end.Offset > 0 {
			consume[p] = kgo.NewOffset().AtStart()
			need[p] = end.Offset
		}
	}
	if len(consume) == 0 {
		return states, nil
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(s.cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.cfg.StateTopic: consume}),
		kgo.FetchMaxBytes(maxStateRecord*4), kgo.FetchMaxPartitionBytes(maxStateRecord*2))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for len(need) > 0 {
		fetches := cl.PollFetches(rctx)
		if err := rctx.Err(); err != nil {
			return nil, fmt.Errorf("scorer: read %q: %w", s.cfg.StateTopic, err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			st := states[r.Partition]
			if string(r.Key) == watermarkKey {
				if w, err := strconv.ParseInt(string(r.Value), 10, 64); err == nil {
					st.watermark = w
				}
			} else {
				st.snapshots[string(r.Key)] = r.Value
			}
			states[r.Partition] = st
			if r.Offset+1 >= need[r.Partition] {
				delete(need, r.Partition)
			}
		})
	}
	return states, nil
}

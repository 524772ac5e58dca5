package scorer

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/score"
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

// A checkpoint runs as a cut spread over loop iterations, so that saving a
// busy partition does not stall scoring: when it starts it takes each
// partition's changed underlyings and the last offset scored; each
// iteration then snapshots a few of them within a small time budget and
// produces them without waiting; once a partition's snapshots are all
// acknowledged, its watermark follows. An underlying snapshotted after the
// cut started carries a later offset than the watermark, which restore
// handles. If any record of a partition fails, its underlyings are marked
// changed again and the next cut saves them; no watermark is written.

// snapshotBudget bounds the time one loop iteration spends on snapshots.
const snapshotBudget = 2 * time.Millisecond

// cut is a checkpoint in progress. Only Run's goroutine touches it, except
// the counters under mu, which produce callbacks update.
type cut struct {
	started time.Time
	parts   map[int32]*cutPart

	mu sync.Mutex
}

type cutPart struct {
	eng       *score.Engine // the engine the cut was taken from
	todo      []string      // underlyings still to snapshot
	taken     []string      // every underlying of the cut, to mark again on failure
	watermark int64
	marked    bool // the watermark record was produced

	// Guarded by cut.mu.
	inflight int
	failed   error
}

// stepCheckpoint advances the checkpoint in progress, or starts one when
// the interval has passed. It runs on Run's goroutine between batches.
func (s *Scorer) stepCheckpoint(ctx context.Context) {
	if s.cut == nil {
		if s.now().Sub(s.checkpoint) < s.cfg.CheckpointEvery {
			return
		}
		s.checkpoint = s.now()
		s.cut = s.startCut()
		if s.cut == nil {
			return
		}
	}
	deadline := time.Now().Add(snapshotBudget)
	done := true
	for p, part := range s.cut.parts {
		s.cut.mu.Lock()
		inflight, failed := part.inflight, part.failed
		s.cut.mu.Unlock()
		eng, _ := s.engine(p)
		switch {
		case eng != part.eng:
			delete(s.cut.parts, p) // the partition moved away; its new owner has its state
		case failed != nil:
			part.eng.MarkDirty(part.taken...)
			delete(s.cut.parts, p)
			s.metrics.CheckpointErrors.Inc()
			s.log.Warnw("checkpoint failed; state will be saved with the next one", "partition", p, "err", failed)
		case len(part.todo) > 0:
			done = false
			for len(part.todo) > 0 && time.Now().Before(deadline) {
				s.produceState(ctx, part, p, part.todo[0])
				part.todo = part.todo[1:]
			}
		case inflight > 0:
			done = false
		case !part.marked:
			done = false
			part.marked = true
			s.produceRecord(ctx, part, &kgo.Record{Topic: s.cfg.StateTopic, Partition: p,
				Key: []byte(watermarkKey), Value: []byte(strconv.FormatInt(part.watermark, 10))})
		}
	}
	if done {
		s.metrics.CheckpointTime.Observe(s.now().Sub(s.cut.started).Seconds())
		s.cut = nil
	}
}

// startCut takes the changed underlyings of every owned partition, or
// returns nil when nothing changed.
func (s *Scorer) startCut() *cut {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &cut{started: s.now(), parts: map[int32]*cutPart{}}
	for p, eng := range s.engines {
		last, ok := s.last[p]
		names := eng.TakeDirty()
		if !ok || len(names) == 0 {
			continue
		}
		c.parts[p] = &cutPart{eng: eng, todo: names, taken: names, watermark: last}
	}
	if len(c.parts) == 0 {
		return nil
	}
	return c
}

func (s *Scorer) produceState(ctx context.Context, part *cutPart, p int32, name string) {
	b, err := part.eng.Snapshot(name)
	if err != nil {
		s.cut.mu.Lock()
		part.failed = err
		s.cut.mu.Unlock()
		return
	}
	if b != nil {
		s.produceRecord(ctx, part, &kgo.Record{Topic: s.cfg.StateTopic, Partition: p, Key: []byte(name), Value: b})
	}
}

// produceRecord produces without waiting; the callback settles the count.
func (s *Scorer) produceRecord(ctx context.Context, part *cutPart, r *kgo.Record) {
	c := s.cut
	c.mu.Lock()
	part.inflight++
	c.mu.Unlock()
	s.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		part.inflight--
		if err != nil && part.failed == nil {
			part.failed = err
		}
		if err == nil {
			s.metrics.CheckpointRecords.Inc()
		}
	})
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

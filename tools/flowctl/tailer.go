package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/twmb/franz-go/pkg/kgo"
)

// tailer prints the records of a tail run.
type tailer struct {
	e    env
	f    tailFlags
	filt filter
	dec  *decoder
	out  *printer
	// By partition: where the run started, the end as it started, and the
	// end offsets still to reach.
	starts, ends, need map[int32]int64
	seen               *keySet
	bar                *progressbar.ProgressBar // on a terminal with -until-end

	printed, bad, dups int
}

// errDone ends the loop once -n records are printed.
var errDone = errors.New("done")

func (t *tailer) run(ctx context.Context, cl *kgo.Client) error {
	if t.f.untilEnd && t.e.tty {
		var total int64
		for p, end := range t.need {
			total += end - t.starts[p]
		}
		t.bar = newBar(t.e, total, "reading "+t.f.topic)
	}
	for !t.f.untilEnd || len(t.need) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break // interrupted: what was printed stands
		}
		var fetchErr error
		fetches.EachError(func(topic string, p int32, err error) {
			fmt.Fprintf(t.e.stderr, "flowctl tail: fetch %s partition %d: %v\n", topic, p, err)
			fetchErr = err
		})
		if fetchErr != nil && fetches.NumRecords() == 0 {
			return fmt.Errorf("cannot read %q: %w", t.f.topic, fetchErr)
		}
		var err error
		fetches.EachRecord(func(r *kgo.Record) {
			if err == nil {
				err = t.record(ctx, r)
			}
			if t.bar != nil {
				_ = t.bar.Add(1)
			}
		})
		if errors.Is(err, errDone) {
			break
		}
		if err != nil {
			return err
		}
	}
	if t.bar != nil {
		_ = t.bar.Finish()
	}
	if t.dups > 0 {
		fmt.Fprintf(t.e.stderr, "flowctl tail: dropped %d repeated events (same key as one printed before)\n", t.dups)
	}
	if t.bad > 0 {
		return fmt.Errorf("%d records could not be decoded (each is reported above)", t.bad)
	}
	return nil
}

func (t *tailer) record(ctx context.Context, r *kgo.Record) error {
	if end, ok := t.need[r.Partition]; ok && r.Offset+1 >= end {
		delete(t.need, r.Partition)
	}
	if t.f.untilEnd && r.Offset >= t.ends[r.Partition] {
		return nil // written after the run started
	}
	d, err := t.dec.decode(ctx, r.Value)
	if err != nil {
		t.bad++
		if t.bar != nil {
			_ = t.bar.Clear()
		}
		fmt.Fprintf(t.e.stderr, "flowctl tail: %s partition %d offset %d: %v\n", r.Topic, r.Partition, r.Offset, err)
		return nil
	}
	if d.event != nil && t.f.dedupe && !t.seen.add(d.event.Key) {
		t.dups++
		return nil
	}
	if !t.filt.match(d) {
		return nil
	}
	if err := t.out.print(d); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	t.printed++
	if t.f.count > 0 && t.printed >= t.f.count {
		return errDone
	}
	return nil
}

// keySet remembers the last limit keys added, forgetting the oldest beyond
// that, so a long tail stays within bounded memory. Duplicates from a replay
// follow their first copy closely (within the scorer's uncommitted window),
// far inside the limit.
type keySet struct {
	keys  map[string]struct{}
	ring  []string // keys in the order added, overwritten from next once full
	next  int
	limit int
}

func newKeySet(limit int) *keySet {
	return &keySet{keys: make(map[string]struct{}), limit: limit}
}

// add reports whether key is new, and remembers it.
func (s *keySet) add(key string) bool {
	if _, ok := s.keys[key]; ok {
		return false
	}
	if len(s.ring) < s.limit {
		s.ring = append(s.ring, key)
	} else {
		delete(s.keys, s.ring[s.next])
		s.ring[s.next] = key
		s.next = (s.next + 1) % s.limit
	}
	s.keys[key] = struct{}{}
	return true
}

// newBar returns a progress bar on stderr, drawn at most every 100 ms and
// cleared when done, so it never mixes with the records on stdout.
func newBar(e env, total int64, what string, opts ...progressbar.Option) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total, append([]progressbar.Option{
		progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetRenderBlankState(true), progressbar.OptionClearOnFinish(),
	}, opts...)...)
}

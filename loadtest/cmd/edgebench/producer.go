package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/liveflow/liveflow/pkg/stream"
)

// batchEvery is how often the producer writes what is due, as a scorer
// writes what one poll brought.
const batchEvery = time.Millisecond

// maxBatch bounds one write; a producer further behind catches up over
// several.
const maxBatch = 1000

// producer writes the pool's events into the shard streams at a steady rate
// through the scorer's stream writer. Each event is its own tick of a fake
// Kafka source: a topic id unique to the run, the shard as partition and the
// write's sequence number as offset (so the event's key is
// "<shard>.<seq>.0"). Before each batch it stamps the events' ingest_ts with
// the wall clock, so a client's latency is Redis write to client read.
//
// run owns the producer's state; next, behind and the window marks may be
// read from any goroutine.
type producer struct {
	w      *stream.Writer
	pool   *pool
	rate   float64
	topic  string
	shard  []int // per underlying of the pool
	next   atomic.Int64
	marks  chan markRequest
	done   chan struct{}
	err    error        // set before done is closed
	behind atomic.Int64 // batches that had more due than maxBatch
}

func newProducer(w *stream.Writer, p *pool, rate float64) *producer {
	pr := &producer{
		w: w, pool: p, rate: rate, shard: make([]int, len(p.underlyings)),
		topic: "edgebench-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		marks: make(chan markRequest), done: make(chan struct{}),
	}
	for i, u := range p.underlyings {
		pr.shard[i] = stream.Shard(u, w.Shards())
	}
	return pr
}

// run writes until ctx ends or a write fails, then closes done.
func (p *producer) run(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(batchEvery)
	defer t.Stop()
	start := time.Now()
	var batch stream.Batch
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-p.marks:
			next := p.next.Load()
			m.into.Store(next)
			m.reply <- next
			continue
		case <-t.C:
		}
		due := int64(p.rate*time.Since(start).Seconds()) - p.next.Load()
		if due <= 0 {
			continue
		}
		if due > maxBatch {
			p.behind.Add(1)
			due = maxBatch
		}
		if err := p.write(ctx, &batch, due); err != nil {
			if ctx.Err() == nil {
				p.err = err
			}
			return
		}
	}
}

// write writes the next n events in one batch.
func (p *producer) write(ctx context.Context, batch *stream.Batch, n int64) error {
	batch.Reset()
	seq := p.next.Load()
	now := time.Now().UnixNano()
	for i := range n {
		e := p.pool.at(seq + i)
		shard := p.shard[e.und]
		batch.Add(shard, p.topic, int32(shard), seq+i, e.Underlying, e.render(nil, shard, seq+i, now))
	}
	added, err := p.w.Write(ctx, batch)
	if err != nil {
		return err
	}
	if int64(added) != n {
		return fmt.Errorf("edgebench: redis added %d of %d events: another writer uses topic %q",
			added, n, p.topic)
	}
	p.next.Add(n)
	return nil
}

// behindCount returns how many batches had more events due than one write
// takes: the writer fell behind the rate.
func (p *producer) behindCount() int64 { return p.behind.Load() }

// markRequest asks run to store the next sequence number into into.
type markRequest struct {
	into  *atomic.Int64
	reply chan int64
}

// mark stores into into, and returns, the sequence number of the next event
// to be written, taken between two batches: every event below it has been
// written, none at or above it yet, and none will be before into holds it.
func (p *producer) mark(ctx context.Context, into *atomic.Int64) (int64, error) {
	m := markRequest{into: into, reply: make(chan int64, 1)}
	select {
	case p.marks <- m:
		return <-m.reply, nil
	case <-p.done:
		if p.err != nil {
			return 0, p.err
		}
		return 0, errors.New("edgebench: the producer stopped")
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

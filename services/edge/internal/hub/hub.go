// Package hub fans scored events out from the Redis shard streams to the
// subscribers of an edge node.
//
// One reader goroutine per shard stream reads with XREAD BLOCK, so a node
// holds one Redis connection per shard its subscribers need, never one per
// subscriber. A reader starts when the first subscriber needs its shard and
// stops, within one blocking read, once none does. With FanoutPubSub the
// readers take new entries from the shards' notification channels instead,
// with the same guarantees (see readPubSub).
// Each entry is routed by its underlying to the subscribers of that
// underlying, once per subscriber however many of its subscriptions match.
package hub

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
)

// Subscriber receives the events of the underlyings it was added for. Send
// queues an event and reports true, or ignores it and reports false when
// the subscriber's own filters reject it; it must not block: a subscriber
// that cannot keep up drops or disconnects on its own terms. After the
// events of one read from a stream (or of one notification), the hub calls
// Flush once on every subscriber that queued any, so a subscriber can write
// them in one go and one that queued none is not woken.
type Subscriber interface {
	Send(ev *Event) bool
	Flush()
}

// Logger receives the hub's notable events; the service wires it to zap.
type Logger interface {
	Warnw(msg string, keysAndValues ...any)
}

// Hub routes events to subscribers. Its methods are safe for concurrent use.
type Hub struct {
	rdb     redis.UniversalClient
	shards  int
	fanout  Fanout
	log     Logger
	metrics *Metrics
	health  health
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup

	// mu guards subs, all, perShard and readers.
	mu       sync.RWMutex
	subs     map[string]map[Subscriber]int // underlying -> subscriber -> subscriptions naming it
	all      map[Subscriber]int            // subscriber -> its subscriptions to every underlying
	readers  map[int]*reader               // shards with a reader, started or starting
	perShard map[int]int                   // subscriptions per shard, to stop idle readers
}

// reader is the state of one shard's reader goroutine.
type reader struct {
	ready chan struct{} // closed once the reader knows where the stream ends
	tail  string        // the entry id it started after; set before ready closes
	pos   string        // the id of the last entry it routed; guarded by Hub.mu
}

// New returns a Hub reading the given number of shard streams, by default
// with FanoutXRead.
func New(rdb redis.UniversalClient, shards int, log Logger, m *Metrics, opts ...Option) *Hub {
	ctx, stop := context.WithCancel(context.Background())
	h := &Hub{
		rdb: rdb, shards: shards, log: log, metrics: m, ctx: ctx, stop: stop,
		subs: make(map[string]map[Subscriber]int), all: make(map[Subscriber]int), readers: make(map[int]*reader), perShard: make(map[int]int),
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

// All, in place of a list of underlyings, subscribes to every underlying.
const All = "*"

// Add counts one more subscription of s to each underlying and starts the
// readers of shards not read yet. The underlyings []string{All} stand for
// every underlying, on every shard. Once Add returns, every event written to
// those underlyings reaches s. Add waits for a new reader to find the end of
// its stream; if ctx ends first it undoes its counts and returns ctx.Err().
//
// It returns, per shard, the id of the last entry routed before s was added:
// s receives every later entry and none up to it, so history read up to
// that id (see Before) joins the live events without a gap or a repeat.
func (h *Hub) Add(ctx context.Context, s Subscriber, underlyings []string) (map[int]string, error) {
	h.mu.Lock()
	from := map[int]string{}
	wait := map[int]*reader{}
	need := func(shard int) {
		h.perShard[shard]++
		r := h.readerLocked(shard)
		if r.pos != "" {
			from[shard] = r.pos
		} else {
			wait[shard] = r // it routes nothing before its tail is known
		}
	}
	for _, u := range underlyings {
		if u == All {
			h.all[s]++
			for shard := range h.shards {
				need(shard)
			}
			continue
		}
		m := h.subs[u]
		if m == nil {
			m = make(map[Subscriber]int)
			h.subs[u] = m
		}
		m[s]++
		need(stream.Shard(u, h.shards))
	}
	h.mu.Unlock()

	for shard, r := range wait {
		select {
		case <-r.ready:
			from[shard] = r.tail
		case <-ctx.Done():
			h.Remove(s, underlyings)
			return nil, ctx.Err()
		}
	}
	return from, nil
}

// Remove counts one subscription of s to each underlying less; s stops
// receiving an underlying when no subscription of it names it any more.
func (h *Hub) Remove(s Subscriber, underlyings []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range underlyings {
		if u == All {
			if h.all[s] == 0 {
				continue
			}
			for shard := range h.shards {
				h.perShard[shard]--
			}
			if h.all[s]--; h.all[s] == 0 {
				delete(h.all, s)
			}
			continue
		}
		m := h.subs[u]
		if m == nil || m[s] == 0 {
			continue // never added: nothing to take back
		}
		h.perShard[stream.Shard(u, h.shards)]--
		if m[s]--; m[s] <= 0 {
			delete(m, s)
		}
		if len(m) == 0 {
			delete(h.subs, u)
		}
	}
}

// Shards returns the number of shard streams.
func (h *Hub) Shards() int { return h.shards }

// Close stops the readers and waits for them.
func (h *Hub) Close() {
	h.stop()
	h.wg.Wait()
}

// readerLocked returns the reader of a shard, starting it when there is
// none. h.mu must be held for writing.
func (h *Hub) readerLocked(shard int) *reader {
	if r := h.readers[shard]; r != nil {
		return r
	}
	r := &reader{ready: make(chan struct{})}
	h.readers[shard] = r
	h.metrics.Readers.Inc()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer h.metrics.Readers.Dec()
		h.read(shard, r)
	}()
	return r
}

// dispatch sends ev to the subscribers of its underlying and to those of
// every underlying, once each, adds them to touched and returns how many
// there were. It records the entry as the
// reader's position under the same lock, which is what makes Add's
// positions exact.
func (h *Hub) dispatch(r *reader, id string, ev *Event, touched map[Subscriber]struct{}) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r.pos = id
	if ev == nil {
		return 0
	}
	n := 0
	for s := range h.subs[ev.Underlying] {
		if h.all[s] > 0 {
			continue // served below
		}
		if s.Send(ev) {
			touched[s] = struct{}{}
		}
		n++
	}
	for s := range h.all {
		if s.Send(ev) {
			touched[s] = struct{}{}
		}
		n++
	}
	return n
}

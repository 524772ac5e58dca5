package ingest

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/feed"
)

// router passes the ticks of the active feed to the pipeline and drops
// those a new connection delivers again.
//
// Every run of a source (a connection, or a replay) is an attempt with its
// own generation. The router remembers, per symbol and tick type, the last
// tick it passed on: its time, sequence number, how many ticks it passed
// with exactly that time and number, and the generation that delivered it.
// Ticks of the same generation pass as they come: one connection's order is
// trusted. The first ticks of a symbol from another generation (after a
// reconnect or a failover) pass only once they are newer than that mark, by
// time and then by sequence number; at the mark itself, as many are dropped
// as were passed. So a feed that starts again from an earlier point, as a
// replay or a recovering vendor does, adds nothing twice, and one that
// starts later loses nothing.
type router struct {
	out    feed.Sink
	m      *Metrics
	active atomic.Int32 // index of the active feed; written with mu held
	gen    atomic.Uint64

	mu    sync.Mutex       // held while a tick is passed on, so switches see no tick in flight
	marks map[markKey]mark // bounded by maxMarks
}

type markKey struct {
	symbol string // the option symbol, or the underlying of a spot tick
	typ    tick.Type
}

type mark struct {
	ts, seq int64
	same    int32  // ticks passed with exactly ts and seq
	gen     uint64 // the generation that passed the last of them
	skipped int32  // ticks of generation skipGen dropped at exactly ts and seq
	skipGen uint64
}

// maxMarks bounds the router's memory: about one mark per contract traded
// and quoted in a day. When full it starts over, and a switch right after
// may pass a few ticks twice.
const maxMarks = 1 << 22

func newRouter(out feed.Sink, m *Metrics) *router {
	return &router{out: out, m: m, marks: make(map[markKey]mark)}
}

// nextGen returns the generation of a new attempt.
func (r *router) nextGen() uint64 { return r.gen.Add(1) }

// setActive makes feed i the one whose ticks pass. When it returns, no tick
// of the previous feed is being passed on.
func (r *router) setActive(i int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active.Store(int32(i))
}

// deliver passes t on if feed i is active and t is not a repeat. It blocks
// while the pipeline applies backpressure.
func (r *router) deliver(ctx context.Context, i int, gen uint64, t *tick.Tick, seq int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if int(r.active.Load()) != i {
		r.m.StandbyTicks.Inc()
		return nil
	}
	if r.repeat(gen, t, seq) {
		r.m.Duplicates.Inc()
		return nil
	}
	return r.out.Tick(ctx, t, seq)
}

// repeat records t and reports whether an earlier generation passed it
// already. r.mu must be held.
func (r *router) repeat(gen uint64, t *tick.Tick, seq int64) bool {
	k := markKey{symbol: t.Symbol, typ: t.Type}
	if k.symbol == "" {
		k.symbol = t.Underlying
	}
	m, seen := r.marks[k]
	if !seen && len(r.marks) >= maxMarks {
		clear(r.marks)
	}
	c := compare(t.TS, seq, m.ts, m.seq)
	switch {
	case !seen || c > 0:
		m = mark{ts: t.TS, seq: seq, same: 1, gen: gen}
	case m.gen == gen && c == 0:
		m.same++
	case m.gen == gen:
		// Older than the mark within one connection: a late report. It is
		// passed on and leaves the mark where it is.
		return false
	case c < 0:
		return true
	case m.skipGen != gen:
		// The first tick of this generation at the mark repeats the
		// first of the m.same ticks passed there.
		m.skipGen, m.skipped = gen, 1
		r.marks[k] = m
		return true
	case m.skipped < m.same:
		m.skipped++
		r.marks[k] = m
		return true
	default:
		m = mark{ts: t.TS, seq: seq, same: m.same + 1, gen: gen}
	}
	r.marks[k] = m
	return false
}

// compare orders (ts, seq) pairs by time, then sequence number.
func compare(ts, seq, ts2, seq2 int64) int {
	switch {
	case ts != ts2:
		if ts < ts2 {
			return -1
		}
		return 1
	case seq < seq2:
		return -1
	case seq > seq2:
		return 1
	}
	return 0
}

// Package score turns ticks into scored flow events. It is pure: no I/O, no
// goroutines, and no clock but the times it is handed, so the same ticks in
// the same order always give the same events.
//
// The engine keeps, per underlying, the spot price and per contract the NBBO,
// open interest, the day's volume and recent prints. It classifies the
// aggressor side of each trade and emits, besides one event per print, the
// aggregates it detects: sweeps and splits (one order's fills), repeated hits
// (many aggressive orders in one contract) and spreads (multi-leg prints that
// printed together). Cancels retract prints and the aggregates built on them.
// docs/scoring.md publishes the rules.
//
// Time windows close on event time: an open sweep, for instance, is emitted
// by the first tick of the partition stamped after its window, whatever its
// underlying. State of one underlying is independent of the others, which is
// what lets a new owner restore underlyings one by one.
package score

import (
	"errors"
	"fmt"
	_ "time/tzdata" // the New York session calendar must not depend on the host

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/tick"
)

// Source identifies the tick being applied.
type Source struct {
	Partition int32
	Offset    int64
}

// ErrTick is wrapped by errors about a tick the engine cannot use.
var ErrTick = errors.New("score: unusable tick")

// Engine scores the ticks of one Kafka partition. It is not safe for
// concurrent use.
type Engine struct {
	cfg      Config
	unders   map[string]*underlying
	clusters queue               // open order clusters
	spreads  queue               // open spread groups
	free     []*window           // closed windows for reuse
	dirty    map[string]struct{} // underlyings changed since TakeDirty
	stats    Stats
}

// Stats count what the engine met that a service may want to report.
type Stats struct {
	UnmatchedCancels int64 // cancels with no earlier print to retract
	Skipped          int64 // ticks at or below an underlying's restored offset
}

// New returns an Engine. It returns an error for an invalid Config.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg.withDefaults(), unders: make(map[string]*underlying),
		dirty: make(map[string]struct{})}, nil
}

// Stats returns the counters so far.
func (e *Engine) Stats() Stats { return e.stats }

// Apply feeds one tick to the engine and appends the events it produces to
// out. now is the time events are stamped with as scored. A tick that fails
// validation is rejected with an error wrapping ErrTick and changes nothing.
//
// Keys are <partition>.<offset>.<n> of a tick, chosen so that they depend
// only on ticks of the event's own underlying: a print's event is n = 0 of
// its tick; an aggregate closed by time is keyed by the print that opened it,
// n = 1 for a sweep or split, 2 for repeated hits, 3 for a spread; a cancel
// is n = 0 of its tick and the aggregates it revises n = 1, 2, ... of it.
// An engine restored underlying by underlying therefore keys events exactly
// as one that never stopped.
func (e *Engine) Apply(t *tick.Tick, src Source, now int64, out []flow.Event) ([]flow.Event, error) {
	if err := t.Validate(); err != nil {
		return out, fmt.Errorf("%w: %w", ErrTick, err)
	}
	em := emitter{out: out, src: src, now: now, ingest: t.IngestTS}
	e.closeBefore(t.TS, &em)

	u := e.underlying(t.Underlying)
	if src.Offset <= u.offset {
		e.stats.Skipped++ // already part of a restored state
		return em.out, nil
	}
	u.offset = src.Offset
	u.rollDay(t.TS)
	e.dirty[u.name] = struct{}{}

	switch t.Type {
	case tick.Spot:
		u.spot = t.Price
	case tick.Quote:
		c, err := u.contract(t.Symbol)
		if err != nil {
			return em.out, err
		}
		c.bid, c.ask = t.Bid, t.Ask
	case tick.OpenInterest:
		c, err := u.contract(t.Symbol)
		if err != nil {
			return em.out, err
		}
		c.oi = t.OpenInterest
	case tick.Trade:
		c, err := u.contract(t.Symbol)
		if err != nil {
			return em.out, err
		}
		e.trade(u, c, t, &em)
	}
	return em.out, nil
}

// emitter appends the events of one tick, numbering their keys.
type emitter struct {
	out    []flow.Event
	src    Source
	n      int32 // events emitted for this tick so far
	now    int64
	ingest int64
}

// next appends a zero event keyed as the tick's next own event and returns
// it. The pointer is valid until the next call.
func (m *emitter) next() *flow.Event {
	ev := m.keyed(flow.Source{Partition: m.src.Partition, Offset: m.src.Offset, N: m.n})
	m.n++
	return ev
}

// keyed appends a zero event with the given key source and returns it.
func (m *emitter) keyed(src flow.Source) *flow.Event {
	m.out = append(m.out, flow.Event{})
	ev := &m.out[len(m.out)-1]
	ev.Source = src
	ev.ScoredTS, ev.IngestTS = m.now, m.ingest
	return ev
}

// Key slots of aggregates keyed by the print that opened them.
const (
	slotOrder    = 1 // sweep or split
	slotRepeated = 2
	slotSpread   = 3
)

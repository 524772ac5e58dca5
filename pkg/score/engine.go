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
	clusters queue     // open order clusters
	spreads  queue     // open spread groups
	free     []*window // closed windows for reuse
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
	return &Engine{cfg: cfg.withDefaults(), unders: make(map[string]*underlying)}, nil
}

// Stats returns the counters so far.
func (e *Engine) Stats() Stats { return e.stats }

// Apply feeds one tick to the engine and appends the events it produces to
// out. now is the time events are stamped with as scored. A tick that fails
// validation is rejected with an error wrapping ErrTick and changes nothing.
//
// Events of one tick get consecutive keys <partition>.<offset>.<n>: first
// the aggregates whose windows the tick's time closed, then the tick's own.
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

// next appends a zero event keyed for the tick and returns it. The pointer is
// valid until the next call.
func (m *emitter) next() *flow.Event {
	m.out = append(m.out, flow.Event{})
	ev := &m.out[len(m.out)-1]
	ev.Source = flow.Source{Partition: m.src.Partition, Offset: m.src.Offset, N: m.n}
	ev.ScoredTS, ev.IngestTS = m.now, m.ingest
	m.n++
	return ev
}

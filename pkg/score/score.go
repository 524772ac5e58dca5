// Package score turns ticks into scored flow events. It is pure: no I/O, no
// goroutines, and no clock but the times it is handed, so the same ticks in
// the same order always give the same events.
//
// This is the first cut of the engine: it keeps the NBBO, spot and open
// interest, classifies the aggressor side of each trade, flags blocks and
// scores each print on its own.
package score

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/tick"
)

// Config holds the thresholds of the engine. The zero value means the defaults.
type Config struct {
	BlockSize    int64   // a print of at least this many contracts is a block; 0 means 500
	BlockPremium float64 // or of at least this premium in USD; 0 means 100,000
}

// Defaults used for zero Config fields.
const (
	DefaultBlockSize    = 500
	DefaultBlockPremium = 100_000
)

// Validate explains the first unusable setting.
func (c Config) Validate() error {
	if c.BlockSize < 0 {
		return fmt.Errorf("score: block size %d is negative", c.BlockSize)
	}
	if c.BlockPremium < 0 || math.IsNaN(c.BlockPremium) || math.IsInf(c.BlockPremium, 0) {
		return fmt.Errorf("score: block premium %v must be a finite, non-negative number", c.BlockPremium)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.BlockSize == 0 {
		c.BlockSize = DefaultBlockSize
	}
	if c.BlockPremium == 0 {
		c.BlockPremium = DefaultBlockPremium
	}
	return c
}

// Multiplier is the number of shares one contract controls.
const Multiplier = 100

// Source identifies the tick that events come from, so their keys are
// deterministic: the same tick always yields the same keys.
type Source struct {
	Partition int32
	Offset    int64
}

// contract is what the engine remembers about one option contract.
type contract struct {
	bid, ask     float64
	lastPrice    float64 // previous trade price, for the tick rule
	openInterest int64
	volume       int64 // contracts traded today so far
	parsed       occ.Contract
	expiry       string // YYYY-MM-DD, formatted once
}

// Engine scores the ticks of any set of underlyings. It is not safe for
// concurrent use; give each partition its own Engine.
type Engine struct {
	cfg       Config
	contracts map[string]*contract
	spots     map[string]float64
}

// ErrTick is wrapped by errors about a tick the engine cannot use.
var ErrTick = errors.New("score: unusable tick")

// New returns an Engine. It returns an error for an invalid Config.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Engine{
		cfg:       cfg.withDefaults(),
		contracts: make(map[string]*contract),
		spots:     make(map[string]float64),
	}, nil
}

// Apply feeds one tick to the engine and appends the events it produces to
// out. now is the time the events are stamped with as scored. A tick that
// fails validation is rejected with an error wrapping ErrTick and changes
// nothing.
func (e *Engine) Apply(t *tick.Tick, src Source, now int64, out []flow.Event) ([]flow.Event, error) {
	if err := t.Validate(); err != nil {
		return out, fmt.Errorf("%w: %w", ErrTick, err)
	}
	if t.Type == tick.Spot {
		e.spots[t.Underlying] = t.Price
		return out, nil
	}

	c, err := e.contract(t.Symbol)
	if err != nil {
		return out, err
	}
	switch t.Type {
	case tick.Quote:
		c.bid, c.ask = t.Bid, t.Ask
	case tick.OpenInterest:
		c.openInterest = t.OpenInterest
	case tick.Trade:
		out = append(out, e.trade(c, t, src, now))
	}
	return out, nil
}

func (e *Engine) contract(symbol string) (*contract, error) {
	if c, ok := e.contracts[symbol]; ok {
		return c, nil
	}
	p, err := occ.Parse(symbol)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTick, err)
	}
	c := &contract{parsed: p, expiry: p.Expiry.Format("2006-01-02")}
	e.contracts[symbol] = c
	return c, nil
}

func (e *Engine) trade(c *contract, t *tick.Tick, src Source, now int64) flow.Event {
	side := flow.SideUnknown
	if classifiable(t.Conditions) {
		side = classify(t.Price, c.bid, c.ask, c.lastPrice)
	}
	c.lastPrice = t.Price
	c.volume += t.Size

	ev := flow.Event{
		Key:        key(src, 0),
		TS:         t.TS,
		IngestTS:   t.IngestTS,
		ScoredTS:   now,
		Underlying: t.Underlying,
		Symbol:     t.Symbol,
		Expiry:     c.expiry,
		Strike:     c.parsed.StrikePrice(),
		Right:      c.parsed.Right.String(),
		Kind:       flow.KindTrade,
		Side:       side,
		Sentiment:  sentiment(side, c.parsed.Right),
		Price:      t.Price,
		Size:       t.Size,
		Premium:    premium(t.Price, t.Size),
		Bid:        c.bid,
		Ask:        c.ask,
		Spot:       e.spots[t.Underlying],
		Exchange:   t.Exchange,
		Conditions: t.Conditions,
	}
	if t.Size >= e.cfg.BlockSize || ev.Premium >= e.cfg.BlockPremium {
		ev.Kind = flow.KindBlock
	}
	ev.Score, ev.Reasons = rate(&ev, c.openInterest)
	return ev
}

// premium is price x size x multiplier, rounded to the cent so that sums and
// comparisons do not carry binary fractions.
func premium(price float64, size int64) float64 {
	return math.Round(price*float64(size)*Multiplier*100) / 100
}

// key is "<partition>.<offset>.<n>".
func key(src Source, n int) string {
	b := make([]byte, 0, 32)
	b = strconv.AppendInt(b, int64(src.Partition), 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, src.Offset, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(n), 10)
	return string(b)
}

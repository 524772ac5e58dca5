// Package tick defines the market-data tick that flows from ingest to the
// scorer, its validation, and its Avro encoding on the options.ticks topic.
package tick

import (
	"errors"
	"fmt"
	"math"

	"github.com/liveflow/liveflow/pkg/occ"
)

// Type says what a tick carries.
type Type string

// The tick types. The values are the Avro enum symbols and the tape's "type".
const (
	Trade        Type = "trade"
	Quote        Type = "quote"
	Spot         Type = "spot"
	OpenInterest Type = "oi"
)

// Tick is one market-data event. Which fields are meaningful depends on Type:
// a trade has Symbol, Price, Size, Exchange and Conditions; a quote has Symbol,
// Bid, Ask, BidSize and AskSize; a spot tick has Price; an oi tick has Symbol and
// OpenInterest. Underlying is always set.
type Tick struct {
	Type         Type     `avro:"type"`
	TS           int64    `avro:"ts"`        // exchange time, Unix nanoseconds
	IngestTS     int64    `avro:"ingest_ts"` // when ingest read it, Unix nanoseconds
	Underlying   string   `avro:"underlying"`
	Symbol       string   `avro:"symbol"` // canonical 21-character OCC symbol
	Price        float64  `avro:"price"`
	Size         int64    `avro:"size"`
	Exchange     string   `avro:"exchange"`
	Conditions   []string `avro:"conditions"`
	Bid          float64  `avro:"bid"`
	Ask          float64  `avro:"ask"`
	BidSize      int64    `avro:"bid_size"`
	AskSize      int64    `avro:"ask_size"`
	OpenInterest int64    `avro:"open_interest"`
}

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("invalid tick")

// Validate checks the fields that the tick's type needs. An option tick's symbol
// must be canonical (see occ.Normalize) and agree with Underlying.
func (t *Tick) Validate() error {
	if t.TS <= 0 {
		return fmt.Errorf("%w: ts must be positive", ErrInvalid)
	}
	if t.Underlying == "" {
		return fmt.Errorf("%w: underlying is empty", ErrInvalid)
	}
	if t.Type == Spot {
		return positive("price", t.Price)
	}
	if t.Type != Trade && t.Type != Quote && t.Type != OpenInterest {
		return fmt.Errorf("%w: unknown type %q", ErrInvalid, t.Type)
	}

	c, err := occ.Parse(t.Symbol)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c.Root != t.Underlying {
		return fmt.Errorf("%w: symbol %q does not belong to underlying %q", ErrInvalid, t.Symbol, t.Underlying)
	}
	switch t.Type {
	case Trade:
		if t.Size <= 0 {
			return fmt.Errorf("%w: size must be positive", ErrInvalid)
		}
		return positive("price", t.Price)
	case Quote:
		if !finite(t.Bid) || !finite(t.Ask) || t.Bid < 0 || t.Ask < 0 || t.BidSize < 0 || t.AskSize < 0 {
			return fmt.Errorf("%w: bid, ask and their sizes must be finite and not negative", ErrInvalid)
		}
		if t.Ask > 0 && t.Bid > t.Ask {
			return fmt.Errorf("%w: bid %v above ask %v", ErrInvalid, t.Bid, t.Ask)
		}
	case OpenInterest:
		if t.OpenInterest < 0 {
			return fmt.Errorf("%w: open_interest is negative", ErrInvalid)
		}
	}
	return nil
}

func positive(name string, v float64) error {
	if !finite(v) || v <= 0 {
		return fmt.Errorf("%w: %s must be a positive number", ErrInvalid, name)
	}
	return nil
}

func finite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

// Package tick defines the market-data tick that flows from ingest to the
// scorer, its validation, and its Avro encoding on the options.ticks topic.
package tick

import (
	"errors"
	"fmt"
	"math"
	"time"
	_ "time/tzdata" // expiry days end in New York, whatever the host's zone files

	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/record"
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

// Reasons a tick is refused, the labels of the services' rejection counters
// and of dead-letter records.
const (
	ReasonMalformed = "malformed"    // bytes that do not decode as a tick
	ReasonSchema    = "schema"       // a record written with another schema
	ReasonType      = "unknown_type" // no tick type this code knows
	ReasonValue     = "bad_value"    // a price, size, quote or open interest that cannot be real
	ReasonSymbol    = "bad_symbol"   // an unparseable symbol, or one of another underlying
	ReasonExpired   = "expired"      // an option traded or quoted after its expiry day
	ReasonFuture    = "future"       // stamped later than it was read, beyond clock skew
	ReasonPast      = "past"         // stamped before any listed option could trade
)

// InvalidError is the error Validate returns. It matches ErrInvalid.
type InvalidError struct {
	Reason string // one of the Reason constants
	Detail string
}

func (e *InvalidError) Error() string { return "invalid tick: " + e.Detail }

// Is makes errors.Is(err, ErrInvalid) hold.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

func invalid(reason, format string, args ...any) error {
	return &InvalidError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Reason returns the label of why a tick was refused: the reason of an
// InvalidError in err's chain, ReasonSchema for a record of another schema
// and ReasonMalformed for any other decode error.
func Reason(err error) string {
	var inv *InvalidError
	switch {
	case errors.As(err, &inv):
		return inv.Reason
	case errors.Is(err, record.ErrSchema):
		return ReasonSchema
	}
	return ReasonMalformed
}

// MinTS is the earliest exchange time Validate accepts, 2000-01-01 UTC. An
// earlier one is a time in seconds, milliseconds or microseconds taken for
// nanoseconds, or garbage: either would make every window of the engine
// close at once.
var MinTS = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// MaxSkew is how far the exchange time may lie after the time ingest read
// the tick: the clocks of the exchange, the vendor and ingest differ by
// seconds, not minutes. A tick from further ahead would push the engine's
// clock past every open window.
const MaxSkew = 5 * time.Minute

// newYork is the exchanges' time zone: an option expires at the end of its
// expiry day there.
var newYork = mustLoad("America/New_York")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("tick: time zone %s: %v", name, err)) // tzdata is embedded
	}
	return loc
}

// Validate checks the fields that the tick's type needs. An option tick's symbol
// must be canonical (see occ.Normalize) and agree with Underlying, and the
// option must not have expired before TS. When IngestTS is set, TS may lie
// at most MaxSkew after it. The error is an *InvalidError naming the reason.
func (t *Tick) Validate() error {
	switch {
	case t.TS < MinTS:
		return invalid(ReasonPast, "ts %d is before 2000-01-01 (want Unix nanoseconds)", t.TS)
	case t.IngestTS > 0 && t.TS > t.IngestTS+int64(MaxSkew):
		return invalid(ReasonFuture, "ts %s is %s after it was read",
			time.Unix(0, t.TS).UTC().Format(time.RFC3339Nano), time.Duration(t.TS-t.IngestTS))
	case t.Underlying == "":
		return invalid(ReasonSymbol, "underlying is empty")
	}
	if t.Type == Spot {
		return positive("price", t.Price)
	}
	if t.Type != Trade && t.Type != Quote && t.Type != OpenInterest {
		return invalid(ReasonType, "unknown type %q", t.Type)
	}

	c, err := occ.Parse(t.Symbol)
	if err != nil {
		return invalid(ReasonSymbol, "%v", err)
	}
	if c.Root != t.Underlying {
		return invalid(ReasonSymbol, "symbol %q does not belong to underlying %q", t.Symbol, t.Underlying)
	}
	if y, m, d := c.Expiry.Date(); t.TS >= time.Date(y, m, d+1, 0, 0, 0, 0, newYork).UnixNano() {
		return invalid(ReasonExpired, "%s expired on %s, before ts %s", t.Symbol, c.Expiry.Format(time.DateOnly),
			time.Unix(0, t.TS).In(newYork).Format(time.RFC3339))
	}
	switch t.Type {
	case Trade:
		if t.Size <= 0 {
			return invalid(ReasonValue, "size must be positive")
		}
		return positive("price", t.Price)
	case Quote:
		if !finite(t.Bid) || !finite(t.Ask) || t.Bid < 0 || t.Ask < 0 || t.BidSize < 0 || t.AskSize < 0 {
			return invalid(ReasonValue, "bid, ask and their sizes must be finite and not negative")
		}
		if t.Ask > 0 && t.Bid > t.Ask {
			return invalid(ReasonValue, "bid %v above ask %v", t.Bid, t.Ask)
		}
	case OpenInterest:
		if t.OpenInterest < 0 {
			return invalid(ReasonValue, "open_interest is negative")
		}
	}
	return nil
}

func positive(name string, v float64) error {
	if !finite(v) || v <= 0 {
		return invalid(ReasonValue, "%s must be a positive number", name)
	}
	return nil
}

func finite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

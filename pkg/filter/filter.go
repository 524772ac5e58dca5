// Package filter is the filter language of scored flow events: the JSON
// shape a client sends (a WebSocket subscription's filter, an alert rule's
// conditions), its validation, and matching against an event's attributes.
//
//	{"symbols":["SPY","QQQ"],"kinds":["sweep"],"min_premium":100000,"rights":["P"],"dte_max":7}
//
// Every condition that is set must hold; lists match any of their values,
// except flags, which must all be present. A cancel passes every condition
// but symbols. docs/protocol.md describes the language for clients.
package filter

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Filter is the JSON form of a filter, as a client writes it. Compile checks
// it; an unchecked Filter matches nothing.
type Filter struct {
	Symbols    []string `json:"symbols"`
	Kinds      []string `json:"kinds,omitempty"`
	MinPremium float64  `json:"min_premium,omitempty"`
	MinScore   int32    `json:"min_score,omitempty"`
	Sides      []string `json:"sides,omitempty"`
	Sentiments []string `json:"sentiments,omitempty"`
	Rights     []string `json:"rights,omitempty"`
	DTEMin     *int32   `json:"dte_min,omitempty"`
	DTEMax     *int32   `json:"dte_max,omitempty"`
	Flags      []string `json:"flags,omitempty"`
}

// The values each list may hold. Callers must not modify them.
var (
	Kinds      = []string{"trade", "block", "sweep", "split", "repeated", "spread", "cancel"}
	Sides      = []string{"AA", "A", "M", "B", "BB"}
	Sentiments = []string{"bullish", "bearish", "neutral"}
	Rights     = []string{"C", "P"}
	Flags      = []string{"golden", "unusual", "iso", "late", "floor", "extended", "multileg"}
)

// Event holds the attributes of a scored event that filters test.
type Event struct {
	Underlying string
	Kind       string
	Side       string
	Sentiment  string
	Right      string
	Premium    float64
	Score      int32
	DTE        int32
	Flags      []string
}

// HasFlag reports whether the event carries flag.
func (e *Event) HasFlag(flag string) bool {
	return slices.Contains(e.Flags, flag)
}

// Matcher is a checked filter with normalized symbols. It is immutable, so
// any number of goroutines may match events against it at once.
type Matcher struct {
	f           Filter // normalized: Symbols upper-cased and without duplicates
	firehose    bool
	symbolsOnly bool // no condition but the symbols
}

// ErrMissing is the error of Compile for a nil filter.
var ErrMissing = errors.New("filter is missing")

// Compile checks a filter and normalizes its symbols. Its errors name the
// offending field ("filter.kinds: ...") and are meant for the client that
// wrote the filter. f is not modified and not retained.
func Compile(f *Filter) (*Matcher, error) {
	if f == nil {
		return nil, ErrMissing
	}
	symbols, err := NormalizeSymbols(f.Symbols)
	if err != nil {
		return nil, err
	}
	checks := []struct {
		name   string
		values []string
		known  []string
	}{
		{"kinds", f.Kinds, Kinds}, {"sides", f.Sides, Sides},
		{"sentiments", f.Sentiments, Sentiments}, {"rights", f.Rights, Rights},
		{"flags", f.Flags, Flags},
	}
	for _, c := range checks {
		for _, v := range c.values {
			if !slices.Contains(c.known, v) {
				return nil, fmt.Errorf("filter.%s: %q is not one of %q", c.name, v, c.known)
			}
		}
	}
	switch {
	case f.MinPremium < 0 || math.IsNaN(f.MinPremium) || math.IsInf(f.MinPremium, 0):
		return nil, fmt.Errorf("filter.min_premium %v: want a finite number, 0 or more", f.MinPremium)
	case f.MinScore < 0 || f.MinScore > 100:
		return nil, fmt.Errorf("filter.min_score %d: want 0 to 100", f.MinScore)
	case f.DTEMin != nil && *f.DTEMin < 0:
		return nil, fmt.Errorf("filter.dte_min %d is negative", *f.DTEMin)
	case f.DTEMin != nil && f.DTEMax != nil && *f.DTEMin > *f.DTEMax:
		return nil, fmt.Errorf("filter.dte_min %d is above dte_max %d", *f.DTEMin, *f.DTEMax)
	}
	norm := *f
	norm.Symbols = symbols
	return &Matcher{
		f: norm, firehose: len(symbols) == 1 && symbols[0] == "*",
		symbolsOnly: len(f.Kinds) == 0 && len(f.Sides) == 0 && len(f.Sentiments) == 0 &&
			len(f.Rights) == 0 && len(f.Flags) == 0 && f.MinPremium == 0 &&
			f.MinScore == 0 && f.DTEMin == nil && f.DTEMax == nil,
	}, nil
}

// Symbols returns the normalized underlyings, ["*"] for the whole feed. The
// caller must not modify the slice.
func (m *Matcher) Symbols() []string { return m.f.Symbols }

// Firehose reports whether the filter names every underlying ("*").
func (m *Matcher) Firehose() bool { return m.firehose }

// SymbolsOnly reports whether the filter sets no condition but its symbols,
// so that every event of an underlying it names passes.
func (m *Matcher) SymbolsOnly() bool { return m.symbolsOnly }

// Filter returns the normalized filter. Its slices are shared with m and must
// not be modified.
func (m *Matcher) Filter() Filter { return m.f }

// Match reports whether ev passes the filter. A cancel passes every
// condition but symbols: whoever may hold the print it retracts must learn
// of it, whatever the cancel's own score or kind.
func (m *Matcher) Match(ev *Event) bool {
	if !m.firehose && !slices.Contains(m.f.Symbols, ev.Underlying) {
		return false
	}
	return m.MatchRouted(ev)
}

// MatchRouted is Match for an event of an underlying the filter is known to
// name: it skips the symbols. It does not allocate.
func (m *Matcher) MatchRouted(ev *Event) bool {
	if ev.Kind == "cancel" {
		return true
	}
	f := &m.f
	switch {
	case len(f.Kinds) > 0 && !slices.Contains(f.Kinds, ev.Kind),
		ev.Premium < f.MinPremium,
		ev.Score < f.MinScore,
		len(f.Sides) > 0 && !slices.Contains(f.Sides, ev.Side),
		len(f.Sentiments) > 0 && !slices.Contains(f.Sentiments, ev.Sentiment),
		len(f.Rights) > 0 && !slices.Contains(f.Rights, ev.Right),
		f.DTEMin != nil && ev.DTE < *f.DTEMin,
		f.DTEMax != nil && ev.DTE > *f.DTEMax:
		return false
	}
	for _, flag := range f.Flags {
		if !ev.HasFlag(flag) {
			return false
		}
	}
	return true
}

package edge

import (
	"fmt"
	"math"
	"slices"

	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

// filter is the JSON form of a subscription's filter. Every condition that
// is set must hold for an event to be delivered; lists match any of their
// values, except flags, which must all be present.
type filter struct {
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

// The values each list may hold.
var (
	knownKinds      = []string{"trade", "block", "sweep", "split", "repeated", "spread", "cancel"}
	knownSides      = []string{"AA", "A", "M", "B", "BB"}
	knownSentiments = []string{"bullish", "bearish", "neutral"}
	knownRights     = []string{"C", "P"}
	knownFlags      = []string{"golden", "unusual", "iso", "late", "floor", "extended", "multileg"}
)

// subscription is a checked filter under an id. It is immutable once made,
// so the hub's goroutines may test events against it while the read loop
// replaces the connection's list.
type subscription struct {
	id       string
	symbols  []string // ["*"] for the whole feed
	firehose bool
	filter   filter
}

// newSubscription checks a filter and normalizes its symbols.
func newSubscription(id string, f *filter) (*subscription, error) {
	if f == nil {
		return nil, fmt.Errorf("subscribe needs a filter")
	}
	symbols, err := normalizeSymbols(f.Symbols)
	if err != nil {
		return nil, err
	}
	checks := []struct {
		name   string
		values []string
		known  []string
	}{
		{"kinds", f.Kinds, knownKinds}, {"sides", f.Sides, knownSides},
		{"sentiments", f.Sentiments, knownSentiments}, {"rights", f.Rights, knownRights},
		{"flags", f.Flags, knownFlags},
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
	firehose := len(symbols) == 1 && symbols[0] == "*"
	return &subscription{id: id, symbols: symbols, firehose: firehose, filter: norm}, nil
}

// wants reports whether the subscription delivers ev. A cancel passes every
// condition but symbols: a client that holds the print it retracts must
// learn of it, whatever the cancel's own score or kind.
func (s *subscription) wants(ev *hub.Event) bool {
	if !s.firehose && !slices.Contains(s.symbols, ev.Underlying) {
		return false
	}
	return s.wantsRouted(ev)
}

// wantsRouted is wants for an event of an underlying the subscription is
// known to name.
func (s *subscription) wantsRouted(ev *hub.Event) bool {
	if ev.Kind == "cancel" {
		return true
	}
	f := &s.filter
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

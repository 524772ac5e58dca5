package edge

import (
	"fmt"
	"slices"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

// subscription is a checked filter under an id. It is immutable once made,
// so the hub's goroutines may test events against it while the read loop
// replaces the connection's list.
type subscription struct {
	id       string
	symbols  []string // ["*"] for the whole feed
	firehose bool
	match    filter.Matcher
	// bare: the filter sets nothing but symbols, so every routed event
	// passes without its attributes being looked at.
	bare bool
	// seen is, per shard, the id of the last entry the client had when it
	// resumed the subscription. Another edge may have been ahead of this
	// one, so live events up to it are repeats and do not pass.
	seen map[int]string
}

// newSubscription checks a filter and normalizes its symbols.
func newSubscription(id string, f *filter.Filter) (*subscription, error) {
	if f == nil {
		return nil, fmt.Errorf("subscribe needs a filter")
	}
	m, err := filter.Compile(f)
	if err != nil {
		return nil, err
	}
	return &subscription{id: id, symbols: m.Symbols(), firehose: m.Firehose(), match: *m, bare: m.SymbolsOnly()}, nil
}

// wants reports whether the subscription delivers ev. A cancel passes every
// condition but symbols: a client that holds the print it retracts must
// learn of it, whatever the cancel's own score or kind.
func (s *subscription) wants(ev *hub.Event) bool {
	return s.names(ev.Underlying) && s.wantsRouted(ev)
}

// names reports whether the subscription may want events of the
// underlying u, for history reads to skip the others undecoded.
func (s *subscription) names(u string) bool {
	return s.firehose || slices.Contains(s.symbols, u)
}

// wantsRouted is wants for an event of an underlying the subscription is
// known to name. Send calls it per event and client: the attributes are
// copied on the stack, nothing is allocated.
func (s *subscription) wantsRouted(ev *hub.Event) bool {
	if s.seen != nil {
		if last, ok := s.seen[ev.Shard]; ok && hub.CompareIDs(ev.Entry, last) <= 0 {
			return false
		}
	}
	if s.bare || ev.Kind == "cancel" {
		return true
	}
	return s.match.MatchRouted(&filter.Event{
		Underlying: ev.Underlying, Kind: ev.Kind, Side: ev.Side, Sentiment: ev.Sentiment,
		Right: ev.Right, Premium: ev.Premium, Score: ev.Score, DTE: ev.DTE, Flags: ev.Flags,
	})
}

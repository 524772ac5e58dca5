// Package watch is what load-test clients ask the edge for: filters as the
// protocol sends them, the edge's matching rules restated, the standard mix
// of filters and the drawing of watchlists.
//
// The rules are restated rather than imported so that the load tests judge
// the edge by the protocol (docs/protocol.md), not by the edge's own code:
// a mistake in the edge's matching shows up as lost or unwanted events
// instead of being repeated here. The tests pin the rules to the cases the
// protocol documents.
package watch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Filter is a subscription's filter as the protocol sends it.
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

// Attrs are the fields of an event that filters test.
type Attrs struct {
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

// Wants reports whether the edge delivers e to a subscription with filter f:
// e's underlying is listed and e passes the other conditions.
func (f *Filter) Wants(e *Attrs) bool {
	return slices.Contains(f.Symbols, e.Underlying) && f.Passes(e)
}

// Passes reports whether e meets every condition of f but symbols: every
// condition that is set must hold, lists match any of their values but
// flags, which must all be present, and a cancel passes whatever is set.
func (f *Filter) Passes(e *Attrs) bool {
	if e.Kind == "cancel" {
		return true
	}
	switch {
	case len(f.Kinds) > 0 && !slices.Contains(f.Kinds, e.Kind),
		e.Premium < f.MinPremium,
		e.Score < f.MinScore,
		len(f.Sides) > 0 && !slices.Contains(f.Sides, e.Side),
		len(f.Sentiments) > 0 && !slices.Contains(f.Sentiments, e.Sentiment),
		len(f.Rights) > 0 && !slices.Contains(f.Rights, e.Right),
		f.DTEMin != nil && e.DTE < *f.DTEMin,
		f.DTEMax != nil && e.DTE > *f.DTEMax:
		return false
	}
	for _, flag := range f.Flags {
		if !slices.Contains(e.Flags, flag) {
			return false
		}
	}
	return true
}

// Profile is one kind of client in the filter mix. There are at most 8, so
// that callers may keep a bit per profile in a uint8.
type Profile struct {
	Share float64 // of all clients
	Make  func(symbols []string) Filter
}

// Mix is the filter mix of edgebench's standard scenario: what a flow
// page's users typically ask for. Most watch everything of their names; the
// rest narrow it by size, by the aggregate kinds, by score, or to
// short-dated bullish calls.
var Mix = []Profile{
	{0.40, func(s []string) Filter { return Filter{Symbols: s} }},
	{0.20, func(s []string) Filter { return Filter{Symbols: s, MinPremium: 10_000} }},
	{0.15, func(s []string) Filter {
		return Filter{Symbols: s, Kinds: []string{"sweep", "block", "split", "repeated", "spread"}}
	}},
	{0.15, func(s []string) Filter { return Filter{Symbols: s, MinScore: 40} }},
	{0.10, func(s []string) Filter {
		dte := int32(30)
		return Filter{Symbols: s, Rights: []string{"C"}, Sentiments: []string{"bullish"}, DTEMax: &dte}
	}},
}

// Notable is the filter mix of the load tester's standard scenario:
// traders whose screens show notable flow of their names, not every print:
// large premium, large orders of the aggregating kinds, high scores,
// unusual size that is also large, and short-dated bullish call sweeps.
// Over a 60 s run of the synthetic market at 10,000 ticks a second, with
// 20-name watchlists, each client draws some 25 events a second (plus every
// cancel of its names). Unusual flags grow through the run as volume
// builds against open interest, so short samples undercount them.
var Notable = []Profile{
	{0.30, func(s []string) Filter { return Filter{Symbols: s, MinPremium: 100_000} }},
	{0.25, func(s []string) Filter {
		return Filter{Symbols: s, Kinds: []string{"sweep", "block", "split", "repeated", "spread"},
			MinPremium: 75_000}
	}},
	{0.20, func(s []string) Filter { return Filter{Symbols: s, MinScore: 70} }},
	{0.15, func(s []string) Filter { return Filter{Symbols: s, Flags: []string{"unusual"}, MinPremium: 50_000} }},
	{0.10, func(s []string) Filter {
		dte := int32(30)
		return Filter{Symbols: s, Kinds: []string{"sweep"}, Rights: []string{"C"},
			Sentiments: []string{"bullish"}, DTEMax: &dte}
	}},
}

// ProfileOf returns the entry of mix for client i: the fractional parts of
// i times the golden ratio spread evenly over [0, 1), so the profiles come
// interleaved in the order clients connect and in the mix's proportions.
func ProfileOf(mix []Profile, i int) int {
	at := math.Mod(float64(i)*0.6180339887498949, 1)
	acc := 0.0
	for j, p := range mix {
		acc += p.Share
		if at < acc {
			return j
		}
	}
	return len(mix) - 1
}

// Watchlist draws k distinct names out of len(counts), each with a weight of
// its count to the power skew: 1 picks names in proportion to their
// activity, 0 uniformly. It returns their indexes, sorted. k must not exceed
// the names with a positive weight.
func Watchlist(rng *rand.Rand, counts []int, k int, skew float64) []int {
	w := make([]float64, len(counts))
	total := 0.0
	for i, c := range counts {
		w[i] = math.Pow(float64(c), skew)
		total += w[i]
	}
	out := make([]int, 0, k)
	for len(out) < k {
		x := rng.Float64() * total
		i := 0
		for ; i < len(w)-1 && x >= w[i]; i++ {
			x -= w[i]
		}
		if w[i] == 0 {
			continue // rounding landed on a name already drawn
		}
		out = append(out, i)
		total -= w[i]
		w[i] = 0
	}
	slices.Sort(out)
	return out
}

// Describe renders a filter's conditions but symbols for a report, e.g.
// "min_premium 10000".
func Describe(f *Filter) string {
	var parts []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			parts = append(parts, name+" "+strings.Join(v, ","))
		}
	}
	add("kinds", f.Kinds)
	if f.MinPremium > 0 {
		parts = append(parts, "min_premium "+strconv.FormatFloat(f.MinPremium, 'f', -1, 64))
	}
	if f.MinScore > 0 {
		parts = append(parts, fmt.Sprintf("min_score %d", f.MinScore))
	}
	add("sides", f.Sides)
	add("sentiments", f.Sentiments)
	add("rights", f.Rights)
	if f.DTEMin != nil {
		parts = append(parts, fmt.Sprintf("dte_min %d", *f.DTEMin))
	}
	if f.DTEMax != nil {
		parts = append(parts, fmt.Sprintf("dte_max %d", *f.DTEMax))
	}
	add("flags", f.Flags)
	if len(parts) == 0 {
		return "symbols only"
	}
	return strings.Join(parts, ", ")
}

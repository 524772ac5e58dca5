package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// filter is a subscription's filter as the protocol sends it
// (docs/protocol.md). The edge's rules, restated in wants, decide what each
// client should receive; the tool may not import the edge, so
// filter_test.go pins the rules to the cases the protocol documents.
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

// wants reports whether the edge delivers e to a subscription with filter f:
// e's underlying is listed and e passes the other conditions.
func (f *filter) wants(e *attrs) bool {
	return slices.Contains(f.Symbols, e.underlying) && f.passes(e)
}

// passes reports whether e meets every condition of f but symbols: every
// condition that is set must hold, lists match any of their values but
// flags, which must all be present, and a cancel passes whatever is set.
func (f *filter) passes(e *attrs) bool {
	if e.kind == "cancel" {
		return true
	}
	switch {
	case len(f.Kinds) > 0 && !slices.Contains(f.Kinds, e.kind),
		e.premium < f.MinPremium,
		e.score < f.MinScore,
		len(f.Sides) > 0 && !slices.Contains(f.Sides, e.side),
		len(f.Sentiments) > 0 && !slices.Contains(f.Sentiments, e.sentiment),
		len(f.Rights) > 0 && !slices.Contains(f.Rights, e.right),
		f.DTEMin != nil && e.dte < *f.DTEMin,
		f.DTEMax != nil && e.dte > *f.DTEMax:
		return false
	}
	for _, flag := range f.Flags {
		if !slices.Contains(e.flags, flag) {
			return false
		}
	}
	return true
}

// profile is one kind of client in the filter mix. There are at most 8, as
// account keeps a bit per profile in a uint8.
type profile struct {
	share float64 // of all clients
	make  func(symbols []string) filter
}

// mix is the filter mix of the standard scenario: what a flow page's users
// typically ask for. Most watch everything of their names; the rest narrow
// it by size, by the aggregate kinds, by score, or to short-dated bullish
// calls.
var mix = []profile{
	{0.40, func(s []string) filter { return filter{Symbols: s} }},
	{0.20, func(s []string) filter { return filter{Symbols: s, MinPremium: 10_000} }},
	{0.15, func(s []string) filter {
		return filter{Symbols: s, Kinds: []string{"sweep", "block", "split", "repeated", "spread"}}
	}},
	{0.15, func(s []string) filter { return filter{Symbols: s, MinScore: 40} }},
	{0.10, func(s []string) filter {
		dte := int32(30)
		return filter{Symbols: s, Rights: []string{"C"}, Sentiments: []string{"bullish"}, DTEMax: &dte}
	}},
}

// profileOf returns the mix entry of client i: the fractional parts of
// i times the golden ratio spread evenly over [0, 1), so the profiles come
// interleaved in the order clients connect and in the mix's proportions.
func profileOf(i int) int {
	at := math.Mod(float64(i)*0.6180339887498949, 1)
	acc := 0.0
	for j, p := range mix {
		acc += p.share
		if at < acc {
			return j
		}
	}
	return len(mix) - 1
}

// watchlist draws k distinct underlyings of the pool, each with a weight of
// its event count to the power skew: 1 picks names in proportion to their
// activity, 0 uniformly. It returns their indexes in the pool.
func watchlist(rng *rand.Rand, counts []int, k int, skew float64) []int {
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

// describe renders a filter for the report, e.g. "min_premium 10000".
func describe(f *filter) string {
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

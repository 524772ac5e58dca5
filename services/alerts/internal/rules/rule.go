// Package rules holds alert rules: their shape and checks, their storage in
// Redis, and the index every alerts instance matches events against, kept
// current as rules change.
package rules

import (
	"fmt"
	"time"
	"unicode"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
)

// maxName bounds a rule's name.
const maxName = 200

// Rule is an alert rule: events its filter passes go to its destination.
type Rule struct {
	ID          string              `json:"id"`
	Owner       string              `json:"owner"` // the user whose credential created it
	Name        string              `json:"name"`
	Filter      filter.Filter       `json:"filter"`
	Destination deliver.Destination `json:"destination"`
	Paused      bool                `json:"paused"` // a paused rule matches nothing
	Created     time.Time           `json:"created"`
	Updated     time.Time           `json:"updated"`
}

// Parts of a rule a CheckError names.
const (
	PartName        = "name"
	PartFilter      = "filter"
	PartDestination = "destination"
)

// CheckError is what is wrong with a rule, in words meant for its owner,
// and which part of it.
type CheckError struct {
	Part string // PartName, PartFilter or PartDestination
	Err  error
}

func (e *CheckError) Error() string { return e.Err.Error() }
func (e *CheckError) Unwrap() error { return e.Err }

// Check validates the parts of r its owner writes and normalizes the
// filter's symbols. Its errors are *CheckError.
func (r *Rule) Check() error {
	if len(r.Name) > maxName {
		return &CheckError{PartName, fmt.Errorf("name has %d bytes, at most %d allowed", len(r.Name), maxName)}
	}
	for _, c := range r.Name {
		if unicode.IsControl(c) {
			return &CheckError{PartName, fmt.Errorf("name %q holds a control character", r.Name)}
		}
	}
	m, err := filter.Compile(&r.Filter)
	if err != nil {
		return &CheckError{PartFilter, err}
	}
	r.Filter = m.Filter()
	if err := r.Destination.Check(); err != nil {
		return &CheckError{PartDestination, err}
	}
	return nil
}

// Compiled is a stored rule ready to match events. It is immutable.
type Compiled struct {
	Rule
	match *filter.Matcher
}

// Compile checks a stored rule and prepares it for matching.
func Compile(r Rule) (*Compiled, error) {
	if r.ID == "" || r.Owner == "" {
		return nil, fmt.Errorf("rules: rule %q has no id or owner", r.ID)
	}
	m, err := filter.Compile(&r.Filter)
	if err != nil {
		return nil, fmt.Errorf("rules: rule %q: %w", r.ID, err)
	}
	if err := r.Destination.Check(); err != nil {
		return nil, fmt.Errorf("rules: rule %q: %w", r.ID, err)
	}
	return &Compiled{Rule: r, match: m}, nil
}

// Set is an immutable index of rules by underlying, which any number of
// goroutines may match against at once.
type Set struct {
	byUnderlying map[string][]*Compiled
	firehose     []*Compiled // rules naming every underlying
	n            int
}

// NewSet indexes rules; paused ones are left out.
func NewSet(rules []*Compiled) *Set {
	s := &Set{byUnderlying: make(map[string][]*Compiled)}
	for _, r := range rules {
		if r.Paused {
			continue
		}
		s.n++
		if r.match.Firehose() {
			s.firehose = append(s.firehose, r)
			continue
		}
		for _, u := range r.match.Symbols() {
			s.byUnderlying[u] = append(s.byUnderlying[u], r)
		}
	}
	return s
}

// Len returns the number of active rules.
func (s *Set) Len() int { return s.n }

// Match appends to out the rules that want ev and returns it.
func (s *Set) Match(ev *filter.Event, out []*Compiled) []*Compiled {
	for _, r := range s.byUnderlying[ev.Underlying] {
		if r.match.MatchRouted(ev) {
			out = append(out, r)
		}
	}
	for _, r := range s.firehose {
		if r.match.MatchRouted(ev) {
			out = append(out, r)
		}
	}
	return out
}

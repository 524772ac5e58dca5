// Package status keeps the feed's health as conditions and publishes it to
// Redis, where the edge reads it to tell clients the feed is degraded.
package status

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// The conditions that degrade the feed, as published in the reason field.
const (
	AuthFailed  = "auth_failed"  // the vendor refuses the key
	BreakerOpen = "breaker_open" // the feed failed repeatedly; retries are held off
	FeedDown    = "feed_down"    // the feed is not connected (reconnecting, or ended)
	Stalled     = "stalled"      // the feed went silent during market hours
	Failover    = "failover"     // ticks come from the secondary feed
	SequenceGap = "sequence_gap" // messages were missed recently
)

// severity orders the conditions, most severe first; the most severe one
// present is the published reason.
var severity = []string{AuthFailed, BreakerOpen, FeedDown, Stalled, Failover, SequenceGap}

// The published states.
const (
	OK       = "ok"
	Degraded = "degraded"
)

// Snapshot is the feed's status at one moment.
type Snapshot struct {
	State  string    // OK or Degraded
	Reason string    // the most severe condition present; "" when OK
	Detail string    // every condition in words, most severe first
	Since  time.Time // when State last changed
	Feed   string    // the feed ticks come from
}

// Board holds the conditions present, each in a named slot so that
// independent parts of the service set and clear their own. It is safe for
// concurrent use.
type Board struct {
	mu    sync.Mutex
	now   func() time.Time
	slots map[string]condition
	feed  string
	state string
	since time.Time
	kick  chan struct{} // capacity 1: a change happened since the last Snapshot
}

type condition struct {
	code, detail string
	until        time.Time // zero: until cleared
}

// NewBoard returns a Board in state OK; now nil means time.Now.
func NewBoard(now func() time.Time) *Board {
	if now == nil {
		now = time.Now
	}
	return &Board{now: now, slots: make(map[string]condition), state: OK, since: now(),
		kick: make(chan struct{}, 1)}
}

// Set puts a condition in slot until it is cleared or replaced.
func (b *Board) Set(slot, code, detail string) { b.put(slot, condition{code: code, detail: detail}) }

// Hold puts a condition in slot for d, after which it clears by itself.
func (b *Board) Hold(slot, code, detail string, d time.Duration) {
	b.put(slot, condition{code: code, detail: detail, until: b.now().Add(d)})
}

func (b *Board) put(slot string, c condition) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if old, ok := b.slots[slot]; ok && old == c {
		return
	}
	b.slots[slot] = c
	b.changedLocked()
}

// Clear empties slot.
func (b *Board) Clear(slot string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.slots[slot]; ok {
		delete(b.slots, slot)
		b.changedLocked()
	}
}

// SetFeed names the feed ticks come from.
func (b *Board) SetFeed(name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.feed != name {
		b.feed = name
		b.changedLocked()
	}
}

// Changed is signalled after a change; a reader takes a Snapshot.
func (b *Board) Changed() <-chan struct{} { return b.kick }

// Snapshot returns the status now, and when the earliest held condition
// expires (zero when none is held).
func (b *Board) Snapshot() (Snapshot, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireLocked(b.now())
	s := Snapshot{State: b.state, Since: b.since, Feed: b.feed}
	var details []string
	var next time.Time
	conds := b.sorted()
	for _, code := range severity {
		for _, c := range conds {
			if c.code != code {
				continue
			}
			if s.Reason == "" {
				s.Reason = code
			}
			details = append(details, c.detail)
			if !c.until.IsZero() && (next.IsZero() || c.until.Before(next)) {
				next = c.until
			}
		}
	}
	s.Detail = strings.Join(details, "; ")
	return s, next
}

// sorted returns the conditions in slot order, so that a snapshot does not
// depend on map order. b.mu must be held.
func (b *Board) sorted() []condition {
	names := make([]string, 0, len(b.slots))
	for n := range b.slots {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]condition, len(names))
	for i, n := range names {
		out[i] = b.slots[n]
	}
	return out
}

// expireLocked drops held conditions whose time has come. b.mu must be held.
func (b *Board) expireLocked(now time.Time) {
	for slot, c := range b.slots {
		if !c.until.IsZero() && !c.until.After(now) {
			delete(b.slots, slot)
			b.changedLocked()
		}
	}
}

// changedLocked updates the state and signals readers. b.mu must be held.
func (b *Board) changedLocked() {
	state := OK
	if len(b.slots) > 0 {
		state = Degraded
	}
	if state != b.state {
		b.state, b.since = state, b.now()
	}
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

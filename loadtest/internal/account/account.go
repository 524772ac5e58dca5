// Package account compares what each load-test client received with what
// its filter wants of the events the pipeline wrote in the measured window:
// delivered, lost, duplicated and unwanted events per client, and the
// latency of what arrived.
package account

import (
	"slices"

	"github.com/liveflow/liveflow/loadtest/internal/expect"
	"github.com/liveflow/liveflow/loadtest/internal/watch"
)

// Class is the behaviour of a client.
type Class int

// The classes of clients. Steady clients read as fast as they can; slow
// ones pause after every frame; resumers disconnect now and then and
// reconnect with resume_from.
const (
	Steady Class = iota
	Slow
	Resumer
	Classes // the number of classes
)

// String names the class.
func (c Class) String() string {
	switch c {
	case Steady:
		return "steady"
	case Slow:
		return "slow"
	case Resumer:
		return "resumer"
	}
	return "unknown"
}

// Rec is one event as a client received it in an events frame.
type Rec struct {
	Key expect.Key
	Lat uint32 // microseconds from ingest reading the tick to the client reading the event
	At  uint32 // milliseconds from the run's origin to ingest reading the tick
}

// Client is what one client asked for and received.
type Client struct {
	Class      Class
	Filter     *watch.Filter
	Subscribed bool         // at least once; a client never subscribed is not accounted
	Live       []Rec        // events of events frames
	Replayed   []expect.Key // events of resume replies ("missed")
	Lagged     int64        // events the edge said it dropped, in lagged notices
}

// Window is the set of events a run accounts for: every event the pipeline
// wrote whose key lies at or above From in its partition.
type Window struct {
	From expect.Offsets
	// Misrouted are the events the shard streams hold under another
	// underlying than their own, when a check of the streams found any:
	// the edge routes by that underlying, so their watchers cannot get them.
	Misrouted map[expect.Key]bool

	events []expect.Event
	byKey  map[expect.Key]int32
	byUnd  map[string][]int32
}

// NewWindow indexes events, the window's events in any order.
func NewWindow(from expect.Offsets, events []expect.Event) *Window {
	w := &Window{From: from, events: events, byKey: make(map[expect.Key]int32, len(events)),
		byUnd: map[string][]int32{}}
	for i := range events {
		e := &events[i]
		w.byKey[e.Key] = int32(i)
		w.byUnd[e.Underlying] = append(w.byUnd[e.Underlying], int32(i))
	}
	return w
}

// Len returns the number of events in the window.
func (w *Window) Len() int { return len(w.events) }

// Each calls fn for every event of the window.
func (w *Window) Each(fn func(*expect.Event)) {
	for i := range w.events {
		fn(&w.events[i])
	}
}

// Event returns the window's event with key k.
func (w *Window) Event(k expect.Key) (*expect.Event, bool) {
	i, ok := w.byKey[k]
	if !ok {
		return nil, false
	}
	return &w.events[i], true
}

// wanted reports whether k is an event of the window that f wants.
func (w *Window) wanted(f *watch.Filter, k expect.Key) bool {
	e, ok := w.Event(k)
	return ok && f.Wants(&e.Attrs)
}

// Outcome is the accounting of one client. Expected = Delivered + Lost +
// LostLagged.
type Outcome struct {
	Expected   int64        // events of the window the filter wants
	Delivered  int64        // of those, how many arrived (once or more)
	Lost       int64        // of those, how many never arrived and no lagged notice explains
	LostLagged int64        // of those, how many never arrived, up to the events lagged notices dropped
	Misrouted  int64        // of the lost, how many the streams hold under another underlying
	Duplicated int64        // arrivals beyond the first of an event, of any event
	Unwanted   int64        // events of the window that arrived but the filter does not want
	Before     int64        // arrivals keyed below the window, written before or as it opened
	Beyond     int64        // arrivals keyed in the window but not among its events: written after it closed
	Replayed   int64        // arrivals in resume replies
	LostKeys   []expect.Key // the first few lost events, for a report
	Unwelcome  []expect.Key // the first few unwanted events, for a report
}

// maxLostKeys bounds Outcome.LostKeys.
const maxLostKeys = 5

// Account compares what c received with what its filter wants of w.
func Account(w *Window, c *Client) Outcome {
	var o Outcome
	keys := make([]expect.Key, 0, len(c.Live)+len(c.Replayed))
	for i := range c.Live {
		keys = append(keys, c.Live[i].Key)
	}
	keys = append(keys, c.Replayed...)
	o.Replayed = int64(len(c.Replayed))
	slices.Sort(keys)
	distinct := keys[:0]
	for i, k := range keys {
		if i > 0 && k == keys[i-1] {
			o.Duplicated++
			continue
		}
		distinct = append(distinct, k)
	}
	for _, k := range distinct {
		e, ok := w.Event(k)
		switch {
		case ok && c.Filter.Wants(&e.Attrs):
			o.Delivered++
		case ok:
			o.Unwanted++
			if len(o.Unwelcome) < maxLostKeys {
				o.Unwelcome = append(o.Unwelcome, k)
			}
		case k.Offset() < w.From[k.Partition()]:
			o.Before++
		default:
			o.Beyond++
		}
	}
	var lost int64
	for _, sym := range c.Filter.Symbols {
		for _, i := range w.byUnd[sym] {
			e := &w.events[i]
			if !c.Filter.Passes(&e.Attrs) {
				continue
			}
			o.Expected++
			if _, found := slices.BinarySearch(distinct, e.Key); !found {
				lost++
				if w.Misrouted[e.Key] {
					o.Misrouted++
				}
				if len(o.LostKeys) < maxLostKeys {
					o.LostKeys = append(o.LostKeys, e.Key)
				}
			}
		}
	}
	o.LostLagged = min(lost, c.Lagged)
	o.Lost = lost - o.LostLagged
	return o
}

// Expected returns how many events of w the filter f wants.
func Expected(w *Window, f *watch.Filter) int64 {
	var n int64
	for _, sym := range f.Symbols {
		for _, i := range w.byUnd[sym] {
			if f.Passes(&w.events[i].Attrs) {
				n++
			}
		}
	}
	return n
}

// Totals sums outcomes.
type Totals struct {
	Clients         int   `json:"clients"`
	Expected        int64 `json:"expected"`
	Delivered       int64 `json:"delivered"`
	Lost            int64 `json:"lost"`
	LostLagged      int64 `json:"lost_lagged"`
	Misrouted       int64 `json:"lost_misrouted"`
	Duplicated      int64 `json:"duplicated"`
	Unwanted        int64 `json:"unwanted"`
	Before          int64 `json:"before_window"`
	Beyond          int64 `json:"beyond_window"`
	Replayed        int64 `json:"replayed"`
	ClientsWithLoss int   `json:"clients_with_loss"`
	ClientsWithDups int   `json:"clients_with_duplicates"`
}

// Add adds one client's outcome.
func (t *Totals) Add(o *Outcome) {
	t.Clients++
	t.Expected += o.Expected
	t.Delivered += o.Delivered
	t.Lost += o.Lost
	t.LostLagged += o.LostLagged
	t.Misrouted += o.Misrouted
	t.Duplicated += o.Duplicated
	t.Unwanted += o.Unwanted
	t.Before += o.Before
	t.Beyond += o.Beyond
	t.Replayed += o.Replayed
	if o.Lost > 0 {
		t.ClientsWithLoss++
	}
	if o.Duplicated > 0 {
		t.ClientsWithDups++
	}
}

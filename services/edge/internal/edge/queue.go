package edge

import (
	"bytes"
	"sync"
	"time"

	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

// queue holds the events waiting for one client, bounded by count and by
// bytes. When an event would overflow it, the queue sheds its oldest events
// down to half of each bound rather than blocking the hub: a client that
// fell behind loses the stale part of its backlog, learns how much through a
// lagged notice, and keeps the fresh part. Events are shared with every
// other recipient, so the bytes are those the client would be sent, not
// memory it holds alone.
type queue struct {
	maxLen   int
	maxBytes int
	now      func() time.Time // read only when shedding

	mu     sync.Mutex
	evs    []*hub.Event // waiting events, oldest first, from head on
	head   int
	bytes  int
	shed   shedding
	behind time.Time // when shedding started; zero once the queue ran empty
}

// shedding counts the events dropped since the last lagged notice.
type shedding struct {
	dropped     int
	first, last string // ids of the first and last dropped event
}

func newQueue(maxLen, maxBytes int) *queue {
	return &queue{maxLen: maxLen, maxBytes: maxBytes, now: time.Now, evs: make([]*hub.Event, 0, 64)}
}

// push adds an event. It reports how long the client has been behind when
// the push had to shed; 0 when it did not.
func (q *queue) push(ev *hub.Event) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	var behind time.Duration
	if q.len()+1 > q.maxLen || q.bytes+len(ev.Msg) > q.maxBytes {
		now := q.now()
		if q.behind.IsZero() {
			q.behind = now
		}
		behind = max(now.Sub(q.behind), time.Nanosecond)
		for q.len() > 0 && (q.len()+1 > q.maxLen/2 || q.bytes+len(ev.Msg) > q.maxBytes/2) {
			q.drop()
		}
		q.compact()
	}
	q.evs = append(q.evs, ev)
	q.bytes += len(ev.Msg)
	return behind
}

func (q *queue) len() int { return len(q.evs) - q.head }

// drop removes the oldest event. q.mu must be held.
func (q *queue) drop() {
	ev := q.evs[q.head]
	q.evs[q.head] = nil
	q.head++
	q.bytes -= len(ev.Msg)
	id := eventID(ev.Msg)
	if q.shed.dropped == 0 {
		q.shed.first = id
	}
	q.shed.last = id
	q.shed.dropped++
}

// compact moves the waiting events to the front of q.evs once the dropped
// or sent ones take more than half of it, so the slice does not grow while
// events pass through. q.mu must be held.
func (q *queue) compact() {
	if q.head > 0 && q.head >= len(q.evs)/2 {
		q.evs = q.evs[:copy(q.evs, q.evs[q.head:])]
		clear(q.evs[len(q.evs) : q.head+len(q.evs)])
		q.head = 0
	}
}

// pop moves the oldest events into out, as many as fit in about maxBytes
// but at least one, and returns out with the shedding since the last pop and
// the number of events that were waiting. The queue counts as caught up once
// it runs empty.
func (q *queue) pop(out []*hub.Event, maxBytes int) ([]*hub.Event, shedding, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	depth := q.len()
	n := 0
	for q.len() > 0 && (n == 0 || n+len(q.evs[q.head].Msg) <= maxBytes) {
		ev := q.evs[q.head]
		q.evs[q.head] = nil
		q.head++
		q.bytes -= len(ev.Msg)
		n += len(ev.Msg)
		out = append(out, ev)
	}
	if q.len() == 0 {
		q.behind = time.Time{}
	}
	q.compact()
	shed := q.shed
	q.shed = shedding{}
	return out, shed, depth
}

// depth returns the number of waiting events.
func (q *queue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.len()
}

// eventID returns the "id" an event message starts with.
func eventID(msg []byte) string {
	const prefix = `{"id":"`
	if !bytes.HasPrefix(msg, []byte(prefix)) {
		return ""
	}
	rest := msg[len(prefix):]
	if i := bytes.IndexByte(rest, '"'); i >= 0 {
		return string(rest[:i])
	}
	return ""
}

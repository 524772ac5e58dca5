package hub

import (
	"sync"
)

// Health is whether the hub can read the event streams. While Redis fails
// some reader, live events stop for the underlyings of its shard; the reader
// retries and resumes after the last entry it routed, so nothing is lost.
type Health struct {
	OK     bool
	Reason string // why not, when not OK
}

// WithHealth has the hub call notify whenever its health changes: when a
// first reader fails to read, and when the last failing one reads again.
// notify runs on a reader goroutine and must not block.
func WithHealth(notify func(Health)) Option {
	return func(h *Hub) { h.health.notify = notify }
}

// health tracks the readers that fail, to report the hub's Health.
type health struct {
	notify func(Health)

	mu      sync.Mutex
	failing map[int]string // shard -> the error of its last read
}

// report records the outcome of a reader's read from Redis; a nil err
// means the read succeeded, even when it found nothing new.
func (hl *health) report(shard int, err error) {
	hl.mu.Lock()
	defer hl.mu.Unlock()
	before := len(hl.failing)
	if err == nil {
		if before == 0 {
			return // the usual case: nothing to update
		}
		delete(hl.failing, shard)
	} else {
		if hl.failing == nil {
			hl.failing = make(map[int]string)
		}
		hl.failing[shard] = err.Error()
	}
	switch after := len(hl.failing); {
	case hl.notify == nil:
	case before == 0 && after > 0:
		hl.notify(Health{OK: false, Reason: "the event store is unreachable; events resume once it answers"})
	case before > 0 && after == 0:
		hl.notify(Health{OK: true})
	}
}

// Health returns the hub's current health.
func (h *Hub) Health() Health {
	h.health.mu.Lock()
	defer h.health.mu.Unlock()
	if len(h.health.failing) > 0 {
		return Health{OK: false, Reason: "the event store is unreachable; events resume once it answers"}
	}
	return Health{OK: true}
}

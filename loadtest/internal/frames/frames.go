// Package frames reads what load tests need from the edge's events frames
// without decoding them: on a machine shared with the edge, decoding every
// event would make the load tester the bottleneck.
package frames

import (
	"bytes"
	"math"
)

var (
	eventsPrefix = []byte(`{"op":"events"`)
	idField      = []byte(`{"id":"`)
	keyField     = []byte(`"key":"`)
	ingestField  = []byte(`"ingest_ts":`)
)

// IsEvents reports whether frame is an events frame.
func IsEvents(frame []byte) bool { return bytes.HasPrefix(frame, eventsPrefix) }

// Event is what Scan reads of one event.
type Event struct {
	ID       []byte // the value of "id", aliasing the frame; nil when it is not closed
	Shard    int    // from the id "<shard>-<entry id>"; -1 when it does not start so
	Key      []byte // the value of "key", aliasing the frame; nil when absent
	IngestTS int64  // the value of "ingest_ts"; 0 when absent or not a positive integer
}

// Scan calls fn for every event of an events frame, in order, and returns how
// many there were. It relies on the edge's encoding (docs/protocol.md): every
// event is an object whose first field is its "id", and no other object has
// an "id" (inside a JSON string a quote is always escaped, so no string can
// look like one). The first "key" after the id is the event's own, since the
// scorer writes it before the fills, which have keys too.
func Scan(frame []byte, fn func(Event)) int {
	n := 0
	i := bytes.Index(frame, idField)
	for i >= 0 {
		frame = frame[i+len(idField):]
		i = bytes.Index(frame, idField)
		body := frame
		if i >= 0 {
			body = frame[:i]
		}
		fn(parse(body))
		n++
	}
	return n
}

// parse reads one event's fields from body, the event after `{"id":"`.
func parse(body []byte) Event {
	e := Event{Shard: -1}
	if j := bytes.IndexByte(body, '"'); j >= 0 {
		e.ID = body[:j:j]
	}
	if shard, rest, ok := digits(body); ok && len(rest) > 0 && rest[0] == '-' {
		e.Shard = int(shard)
	}
	if i := bytes.Index(body, keyField); i >= 0 {
		v := body[i+len(keyField):]
		if j := bytes.IndexByte(v, '"'); j >= 0 {
			e.Key = v[:j:j]
		}
	}
	if i := bytes.Index(body, ingestField); i >= 0 {
		if ts, _, ok := digits(body[i+len(ingestField):]); ok && ts > 0 {
			e.IngestTS = ts
		}
	}
	return e
}

// digits parses the decimal number at the start of b and returns it with
// what follows. It fails on no digits and on a number beyond int64.
func digits(b []byte) (v int64, rest []byte, ok bool) {
	j := 0
	for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
		d := int64(b[j] - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, b, false
		}
		v = 10*v + d
	}
	return v, b[j:], j > 0
}

// ParseKey splits an event key "<partition>.<offset>.<n>".
func ParseKey(key []byte) (partition, offset, n int64, ok bool) {
	partition, rest, ok := digits(key)
	if !ok || len(rest) == 0 || rest[0] != '.' {
		return 0, 0, 0, false
	}
	offset, rest, ok = digits(rest[1:])
	if !ok || len(rest) == 0 || rest[0] != '.' {
		return 0, 0, 0, false
	}
	n, rest, ok = digits(rest[1:])
	if !ok || len(rest) != 0 {
		return 0, 0, 0, false
	}
	return partition, offset, n, true
}

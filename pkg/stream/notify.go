package stream

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Channel returns the shard channel on which a Writer with Notify set
// announces what it appended to a shard's stream. It carries the stream's
// hash tag, so in a Redis Cluster SPUBLISH and SSUBSCRIBE reach the node that
// holds the stream.
func Channel(shard int) string {
	return Key(shard) + ":live"
}

// Notification is one message of a shard channel: the entries one Write
// appended to the shard's stream, oldest first, and the id of the entry
// before them. A subscriber that has routed exactly up to Prev can take
// Entries as they are; any other Prev means it missed something and must
// read the stream. Pub/Sub keeps nothing, so the stream stays the record.
type Notification struct {
	Prev    string // id of the newest entry before Entries; "0-0" for a new stream
	Entries []Entry
}

// Entry is one stream entry as a notification carries it.
type Entry struct {
	ID         string
	Underlying string // the "u" field
	Event      string // the "e" field: bytes, JSON today
}

// ErrBadNotification is wrapped by every error of ParseNotification.
var ErrBadNotification = errors.New("stream: malformed notification")

// notificationVersion opens every notification; another value means a
// writer with a framing this reader does not know.
const notificationVersion = 1

// ParseNotification decodes a notification. The framing is binary-safe: a
// version byte (1), then length-prefixed fields, each an unsigned varint
// length (as encoding/binary's Uvarint) and that many bytes: Prev, then ID,
// Underlying and Event for every entry. Ids must be well-formed and strictly
// increasing from Prev, and there must be at least one entry. The strings of
// the result share payload's memory.
func ParseNotification(payload string) (Notification, error) {
	if payload == "" || payload[0] != notificationVersion {
		return Notification{}, fmt.Errorf("%w: no version %d header", ErrBadNotification, notificationVersion)
	}
	p := payload[1:]
	var n Notification
	var ok bool
	if n.Prev, p, ok = field(p); !ok || !validID(n.Prev) {
		return Notification{}, fmt.Errorf("%w: bad previous id", ErrBadNotification)
	}
	before := n.Prev
	for p != "" {
		var e Entry
		var okU, okE bool
		e.ID, p, ok = field(p)
		e.Underlying, p, okU = field(p)
		e.Event, p, okE = field(p)
		if !ok || !okU || !okE {
			return Notification{}, fmt.Errorf("%w: entry %d is truncated", ErrBadNotification, len(n.Entries))
		}
		if !validID(e.ID) || compareIDs(e.ID, before) <= 0 {
			return Notification{}, fmt.Errorf("%w: entry id %q does not follow %q", ErrBadNotification, e.ID, before)
		}
		before = e.ID
		n.Entries = append(n.Entries, e)
	}
	if len(n.Entries) == 0 {
		return Notification{}, fmt.Errorf("%w: no entries", ErrBadNotification)
	}
	return n, nil
}

// maxLenBytes bounds a field's length prefix: five varint bytes hold 35
// bits, more than the largest Redis string.
const maxLenBytes = 5

// field splits one length-prefixed field off p.
func field(p string) (f, rest string, ok bool) {
	var n uint64
	for i := 0; i < len(p) && i < maxLenBytes; i++ {
		b := p[i]
		n |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			p = p[i+1:]
			if n > uint64(len(p)) {
				return "", "", false
			}
			return p[:n], p[n:], true
		}
	}
	return "", "", false
}

// parseID parses a stream entry id "<ms>-<seq>" strictly.
func parseID(id string) (ms, seq uint64, ok bool) {
	m, s, found := strings.Cut(id, "-")
	if !found {
		return 0, 0, false
	}
	ms, err1 := strconv.ParseUint(m, 10, 64)
	seq, err2 := strconv.ParseUint(s, 10, 64)
	return ms, seq, err1 == nil && err2 == nil
}

func validID(id string) bool {
	_, _, ok := parseID(id)
	return ok
}

// compareIDs orders two ids that validID accepts.
func compareIDs(a, b string) int {
	am, as, _ := parseID(a)
	bm, bs, _ := parseID(b)
	return cmp.Or(cmp.Compare(am, bm), cmp.Compare(as, bs))
}

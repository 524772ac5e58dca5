package hub

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Event is one event read from a shard stream, decoded once for every
// subscriber: Msg is its wire form, the rest what server-side filters test.
// An Event is shared between subscribers and must not be modified.
type Event struct {
	Msg        []byte // the event JSON with its "id"
	Shard      int    // the shard stream the event was read from
	Entry      string // its stream entry id, "<ms>-<seq>"
	Underlying string
	Kind       string
	Side       string
	Sentiment  string
	Right      string
	Premium    float64
	Score      int32
	DTE        int32
	Flags      []string
	TS         int64 // exchange time, Unix nanoseconds
	IngestTS   int64 // when ingest read the tick, Unix nanoseconds
}

// HasFlag reports whether the event carries flag.
func (e *Event) HasFlag(flag string) bool {
	for _, f := range e.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// attributes is the part of a stored event that filters need.
type attributes struct {
	Kind      string   `json:"kind"`
	Side      string   `json:"side"`
	Sentiment string   `json:"sentiment"`
	Right     string   `json:"right"`
	Premium   float64  `json:"premium"`
	Score     int32    `json:"score"`
	DTE       int32    `json:"dte"`
	Flags     []string `json:"flags"`
	TS        int64    `json:"ts"`
	IngestTS  int64    `json:"ingest_ts"`
}

// decode builds an Event from a stored entry: the underlying, the event
// JSON without "id", and the id to splice in as "<shard>-<entry id>". It
// rejects anything that is not a JSON object, since splicing it into a batch
// would make the whole events frame undecodable.
func decode(shard int, entryID, underlying, stored string) (*Event, error) {
	if underlying == "" {
		return nil, fmt.Errorf("hub: entry %s has no underlying", entryID)
	}
	if !isEntryID(entryID) {
		return nil, fmt.Errorf("hub: entry id %q is not <ms>-<seq>", entryID)
	}
	var a attributes
	if len(stored) < 2 || stored[0] != '{' {
		return nil, fmt.Errorf("hub: entry %s is not a JSON object", entryID)
	}
	if err := json.Unmarshal([]byte(stored), &a); err != nil {
		return nil, fmt.Errorf("hub: entry %s: %w", entryID, err)
	}

	msg := make([]byte, 0, len(stored)+32)
	msg = append(msg, `{"id":"`...)
	msg = strconv.AppendInt(msg, int64(shard), 10)
	msg = append(msg, '-')
	msg = append(msg, entryID...)
	msg = append(msg, '"')
	// The object's first member follows a comma; an empty one, however it
	// is spaced, has none.
	if strings.TrimLeft(stored[1:], " \t\r\n")[0] != '}' {
		msg = append(msg, ',')
	}
	msg = append(msg, stored[1:]...)
	return &Event{
		Msg: msg, Underlying: underlying, Kind: a.Kind, Side: a.Side, Sentiment: a.Sentiment,
		Right: a.Right, Premium: a.Premium, Score: a.Score, DTE: a.DTE, Flags: a.Flags,
		TS: a.TS, IngestTS: a.IngestTS, Shard: shard, Entry: entryID,
	}, nil
}

// isEntryID reports whether id is a stream entry id, "<ms>-<seq>", which
// can be spliced into JSON as it is.
func isEntryID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	return ok && digits(ms) && digits(seq)
}

func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CompareIDs orders Redis stream entry ids "<ms>-<seq>". Entries of
// different shards come from one Redis clock, so across shards the order is
// the order in which they were written, to the millisecond.
func CompareIDs(a, b string) int {
	am, as := SplitID(a)
	bm, bs := SplitID(b)
	if am != bm {
		return cmp.Compare(am, bm)
	}
	return cmp.Compare(as, bs)
}

// SplitID parses an entry id "<ms>-<seq>"; malformed parts read as 0.
func SplitID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}

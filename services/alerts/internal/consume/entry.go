package consume

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/stream"
)

// entry is one shard stream entry, decoded.
type entry struct {
	shard      int
	id         string // the stream entry id
	eventID    string // "<shard>-<entry id>", the event's id on the WebSocket
	underlying string
	stored     string // the "e" field as stored, for the dead-letter stream
	ev         flow.Event
	attrs      filter.Event
	json       []byte    // the event with its "id", as WebSocket clients receive it
	written    time.Time // from the entry id: when Redis appended it
}

// errTrimmed is the decode error of an entry whose data is gone: the stream
// was trimmed past it while it was pending.
var errTrimmed = errors.New("the entry was trimmed from the stream before it was handled")

// decodeEntry reads a stream entry: "u", the underlying, and "e", the event
// JSON without "id" (see pkg/stream).
func decodeEntry(shard int, msg redis.XMessage) (*entry, error) {
	if len(msg.Values) == 0 {
		return nil, errTrimmed
	}
	e := &entry{shard: shard, id: msg.ID, eventID: strconv.Itoa(shard) + "-" + msg.ID}
	e.underlying, _ = msg.Values[stream.FieldUnderlying].(string)
	e.stored, _ = msg.Values[stream.FieldEvent].(string)
	ms, _, ok := splitID(msg.ID)
	switch {
	case !ok:
		return e, fmt.Errorf("entry id %q is not <ms>-<seq>", msg.ID)
	case e.underlying == "":
		return e, fmt.Errorf("entry %s has no underlying (field %q)", msg.ID, stream.FieldUnderlying)
	case len(e.stored) < 2 || e.stored[0] != '{':
		return e, fmt.Errorf("entry %s: field %q is not a JSON object", msg.ID, stream.FieldEvent)
	}
	if err := json.Unmarshal([]byte(e.stored), &e.ev); err != nil {
		return e, fmt.Errorf("entry %s: %w", msg.ID, err)
	}
	e.written = time.UnixMilli(int64(ms))
	ev := &e.ev
	e.attrs = filter.Event{
		Underlying: e.underlying, Kind: ev.Kind, Side: ev.Side, Sentiment: ev.Sentiment, Right: ev.Right,
		Premium: ev.Premium, Score: ev.Score, DTE: ev.DTE, Flags: ev.FlagNames,
	}
	// The id goes first, as the edge writes it.
	b := make([]byte, 0, len(e.stored)+len(e.eventID)+8)
	b = append(b, `{"id":`...)
	b = strconv.AppendQuote(b, e.eventID)
	if len(e.stored) > 2 {
		b = append(b, ',')
	}
	e.json = append(b, e.stored[1:]...)
	return e, nil
}

// splitID parses a stream entry id "<ms>-<seq>".
func splitID(id string) (ms, seq uint64, ok bool) {
	for i := 0; i < len(id); i++ {
		if id[i] == '-' {
			m, err1 := strconv.ParseUint(id[:i], 10, 64)
			s, err2 := strconv.ParseUint(id[i+1:], 10, 64)
			return m, s, err1 == nil && err2 == nil
		}
	}
	return 0, 0, false
}

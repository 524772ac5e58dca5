// Package tape reads and writes tapes: recorded ticks in NDJSON, one JSON
// object per line, e.g.
//
//	{"type":"quote","ts":"2026-12-03T14:30:00.000000001Z","symbol":"AAPL  261218C00200000","bid":2.30,"ask":2.40,"bid_size":10,"ask_size":12}
//	{"type":"trade","ts":"2026-12-03T14:30:00.1Z","symbol":"O:AAPL261218C00200000","price":2.40,"size":50,"exchange":"CBOE","conditions":["ISOI"]}
//	{"type":"spot","ts":"2026-12-03T14:30:00.2Z","underlying":"AAPL","price":199.5}
//	{"type":"oi","ts":"2026-12-03T09:00:00Z","symbol":"AAPL261218C00200000","open_interest":1200}
//
// ts is RFC 3339 with up to nanosecond precision. symbol may be padded,
// unpadded, padded with underscores or carry an "O:" prefix; ticks come out
// with the canonical 21-character symbol and the underlying taken from it.
package tape

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/liveflow/liveflow/pkg/occ"
	"github.com/liveflow/liveflow/pkg/tick"
)

// Reasons a line is rejected, as reported by LineError.Reason and used as a
// metric label.
const (
	ReasonMalformed = "malformed" // not a JSON object of the expected shape
	ReasonType      = "unknown_type"
	ReasonSymbol    = "bad_symbol"
	ReasonInvalid   = "invalid" // well formed, but a field is missing or out of range
)

// LineError describes a rejected tape line.
type LineError struct {
	Line   int    // 1-based line number
	Reason string // one of the Reason constants
	Err    error
}

func (e *LineError) Error() string {
	return fmt.Sprintf("tape: line %d: %s: %v", e.Line, e.Reason, e.Err)
}

func (e *LineError) Unwrap() error { return e.Err }

// line is the JSON shape of one tape line.
type line struct {
	Type         string   `json:"type"`
	TS           string   `json:"ts"`
	Symbol       string   `json:"symbol,omitempty"`
	Underlying   string   `json:"underlying,omitempty"`
	Price        float64  `json:"price,omitempty"`
	Size         int64    `json:"size,omitempty"`
	Exchange     string   `json:"exchange,omitempty"`
	Conditions   []string `json:"conditions,omitempty"`
	Bid          float64  `json:"bid,omitempty"`
	Ask          float64  `json:"ask,omitempty"`
	BidSize      int64    `json:"bid_size,omitempty"`
	AskSize      int64    `json:"ask_size,omitempty"`
	OpenInterest *int64   `json:"open_interest,omitempty"`
}

// Parse decodes one tape line. Errors are *LineError with Line left at 0.
func Parse(b []byte) (tick.Tick, error) {
	var l line
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return tick.Tick{}, &LineError{Reason: ReasonMalformed, Err: err}
	}
	if dec.More() {
		return tick.Tick{}, &LineError{Reason: ReasonMalformed, Err: errors.New("more than one JSON value on the line")}
	}

	ts, err := time.Parse(time.RFC3339Nano, l.TS)
	if err != nil {
		return tick.Tick{}, &LineError{Reason: ReasonInvalid, Err: fmt.Errorf("ts: %w", err)}
	}
	t := tick.Tick{
		Type:       tick.Type(l.Type),
		TS:         ts.UnixNano(),
		Price:      l.Price,
		Size:       l.Size,
		Exchange:   l.Exchange,
		Conditions: l.Conditions,
		Bid:        l.Bid,
		Ask:        l.Ask,
		BidSize:    l.BidSize,
		AskSize:    l.AskSize,
	}
	if t.Conditions == nil {
		t.Conditions = []string{}
	}

	switch t.Type {
	case tick.Spot:
		t.Underlying = l.Underlying
	case tick.Trade, tick.Quote, tick.OpenInterest:
		c, err := occ.Parse(l.Symbol)
		if err != nil {
			return tick.Tick{}, &LineError{Reason: ReasonSymbol, Err: err}
		}
		t.Symbol, t.Underlying = c.String(), c.Root
		if t.Type == tick.OpenInterest {
			if l.OpenInterest == nil {
				return tick.Tick{}, &LineError{Reason: ReasonInvalid, Err: errors.New("open_interest is missing")}
			}
			t.OpenInterest = *l.OpenInterest
		}
	default:
		return tick.Tick{}, &LineError{Reason: ReasonType, Err: fmt.Errorf("unknown type %q", l.Type)}
	}

	if err := t.Validate(); err != nil {
		return tick.Tick{}, &LineError{Reason: ReasonInvalid, Err: err}
	}
	return t, nil
}

// Format returns the tape line of a tick, without the newline.
func Format(t *tick.Tick) ([]byte, error) {
	l := line{
		Type:       string(t.Type),
		TS:         time.Unix(0, t.TS).UTC().Format(time.RFC3339Nano),
		Price:      t.Price,
		Size:       t.Size,
		Exchange:   t.Exchange,
		Conditions: t.Conditions,
		Bid:        t.Bid,
		Ask:        t.Ask,
		BidSize:    t.BidSize,
		AskSize:    t.AskSize,
	}
	switch t.Type {
	case tick.Spot:
		l.Underlying = t.Underlying
	case tick.OpenInterest:
		l.Symbol = t.Symbol
		oi := t.OpenInterest
		l.OpenInterest = &oi
	default:
		l.Symbol = t.Symbol
	}
	return json.Marshal(l)
}

// maxLine bounds the memory one line may take; a longer line is rejected.
const maxLine = 64 << 10

// Reader reads ticks from a tape, line by line.
type Reader struct {
	r    *bufio.Reader
	line int
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next returns the next tick. A rejected line returns a *LineError and the
// Reader stays usable: call Next again for the line after it. At the end of
// the tape Next returns io.EOF. Blank lines are skipped.
func (r *Reader) Next() (tick.Tick, error) {
	for {
		b, err := r.readLine()
		if err != nil {
			return tick.Tick{}, err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		t, err := Parse(b)
		if err != nil {
			var le *LineError
			if errors.As(err, &le) {
				le.Line = r.line
			}
			return tick.Tick{}, err
		}
		return t, nil
	}
}

// readLine returns the next line without its line ending, or a LineError for
// a line longer than maxLine, which it skips.
func (r *Reader) readLine() ([]byte, error) {
	var long bool
	var buf []byte
	for {
		chunk, err := r.r.ReadSlice('\n')
		if len(chunk) > 0 && !long {
			buf = append(buf, chunk...)
			if len(buf) > maxLine {
				long, buf = true, nil
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && (len(buf) > 0 || long) {
			err = nil
		}
		if err != nil {
			return nil, err
		}
		r.line++
		if long {
			return nil, &LineError{Line: r.line, Reason: ReasonMalformed,
				Err: fmt.Errorf("line longer than %d bytes", maxLine)}
		}
		return bytes.TrimRight(buf, "\r\n"), nil
	}
}

package tick

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/record"
)

// open is 09:30 in New York on 2026-12-03.
var open = time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC).UnixNano()

func TestValidate(t *testing.T) {
	const sym = "AAPL  261218C00200000"
	const ts = 1796308200000000000 // 2026-12-03T14:30:00Z
	valid := []Tick{
		{Type: Trade, TS: ts, Underlying: "AAPL", Symbol: sym, Price: 2.4, Size: 1},
		{Type: Quote, TS: ts, Underlying: "AAPL", Symbol: sym, Bid: 2.3, Ask: 2.4},
		{Type: Quote, TS: ts, Underlying: "AAPL", Symbol: sym}, // no market is a valid quote
		{Type: Spot, TS: ts, Underlying: "AAPL", Price: 199.5},
		{Type: OpenInterest, TS: ts, Underlying: "AAPL", Symbol: sym, OpenInterest: 0},
		{Type: Trade, TS: ts, IngestTS: ts - int64(time.Minute), Underlying: "AAPL", Symbol: sym, Price: 2.4, Size: 1},
		{Type: Trade, TS: ts, IngestTS: ts + int64(24*time.Hour), Underlying: "AAPL", Symbol: sym, Price: 2.4, Size: 1},
	}
	for _, tk := range valid {
		if err := tk.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", tk, err)
		}
	}

	invalid := map[string]struct {
		tick   Tick
		reason string
	}{
		"no ts":         {Tick{Type: Spot, Underlying: "AAPL", Price: 1}, ReasonPast},
		"ts in seconds": {Tick{Type: Spot, TS: ts / 1e9, Underlying: "AAPL", Price: 1}, ReasonPast},
		"ts in micros":  {Tick{Type: Spot, TS: ts / 1e3, Underlying: "AAPL", Price: 1}, ReasonPast},
		"from the future": {Tick{Type: Spot, TS: ts + int64(MaxSkew) + 1, IngestTS: ts, Underlying: "AAPL",
			Price: 1}, ReasonFuture},
		"no underlying": {Tick{Type: Spot, TS: ts, Price: 1}, ReasonSymbol},
		"unknown type":  {Tick{Type: "bar", TS: ts, Underlying: "AAPL"}, ReasonType},
		"bad symbol":    {Tick{Type: Trade, TS: ts, Underlying: "AAPL", Symbol: "AAPL", Price: 1, Size: 1}, ReasonSymbol},
		"other root":    {Tick{Type: Trade, TS: ts, Underlying: "MSFT", Symbol: sym, Price: 1, Size: 1}, ReasonSymbol},
		"zero size":     {Tick{Type: Trade, TS: ts, Underlying: "AAPL", Symbol: sym, Price: 1}, ReasonValue},
		"NaN price": {Tick{Type: Trade, TS: ts, Underlying: "AAPL", Symbol: sym, Price: math.NaN(), Size: 1},
			ReasonValue},
		"negative price": {Tick{Type: Trade, TS: ts, Underlying: "AAPL", Symbol: sym, Price: -2, Size: 1}, ReasonValue},
		"crossed quote":  {Tick{Type: Quote, TS: ts, Underlying: "AAPL", Symbol: sym, Bid: 2.5, Ask: 2.4}, ReasonValue},
		"negative bid":   {Tick{Type: Quote, TS: ts, Underlying: "AAPL", Symbol: sym, Bid: -1, Ask: 2.4}, ReasonValue},
		"negative oi": {Tick{Type: OpenInterest, TS: ts, Underlying: "AAPL", Symbol: sym, OpenInterest: -1},
			ReasonValue},
		"infinite spot": {Tick{Type: Spot, TS: ts, Underlying: "AAPL", Price: math.Inf(1)}, ReasonValue},
		"negative spot": {Tick{Type: Spot, TS: ts, Underlying: "AAPL", Price: -3}, ReasonValue},
		"expired": {Tick{Type: Trade, TS: ts, Underlying: "AAPL", Symbol: "AAPL  261127C00200000", Price: 1,
			Size: 1}, ReasonExpired},
	}
	for name, c := range invalid {
		err := c.tick.Validate()
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate = %v, want ErrInvalid", name, err)
			continue
		}
		if got := Reason(fmt.Errorf("wrapped: %w", err)); got != c.reason {
			t.Errorf("%s: Reason(%v) = %q, want %q", name, err, got, c.reason)
		}
	}
}

// An option trades until the end of its expiry day in New York, which is
// the next morning in UTC, and not a nanosecond longer.
func TestValidateExpiryEndsInNewYork(t *testing.T) {
	const sym = "AAPL  261218C00200000"                             // expires Friday 2026-12-18
	end := time.Date(2026, 12, 19, 5, 0, 0, 0, time.UTC).UnixNano() // midnight EST
	cases := []struct {
		ts     int64
		reason string
	}{
		{time.Date(2026, 12, 18, 20, 59, 0, 0, time.UTC).UnixNano(), ""}, // the close
		{end - 1, ""},
		{end, ReasonExpired},
	}
	for _, c := range cases {
		tk := Tick{Type: Trade, TS: c.ts, Underlying: "AAPL", Symbol: sym, Price: 1, Size: 1}
		err := tk.Validate()
		switch {
		case c.reason == "" && err != nil:
			t.Errorf("ts %s: Validate = %v, want nil", time.Unix(0, c.ts).UTC(), err)
		case c.reason != "" && Reason(err) != c.reason:
			t.Errorf("ts %s: Validate = %v, want reason %s", time.Unix(0, c.ts).UTC(), err, c.reason)
		}
	}
}

func TestReasonOfDecodeErrors(t *testing.T) {
	c, err := NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	var tk Tick
	if got := Reason(c.Decode([]byte("garbage"), &tk)); got != ReasonMalformed {
		t.Errorf("Reason(not avro) = %q, want %q", got, ReasonMalformed)
	}
	other := append([]byte{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}, 0)
	err = c.Decode(other, &tk)
	if !errors.Is(err, record.ErrSchema) || Reason(err) != ReasonSchema {
		t.Errorf("Reason(%v) = %q, want %q", err, Reason(err), ReasonSchema)
	}
}

func BenchmarkValidate(b *testing.B) {
	tk := Tick{Type: Trade, TS: open, IngestTS: open, Underlying: "AAPL", Symbol: "AAPL  261218C00200000",
		Price: 2.4, Size: 50}
	b.ReportAllocs()
	for b.Loop() {
		if err := tk.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

package tape

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/liveflow/liveflow/pkg/tick"
)

func TestParseEachType(t *testing.T) {
	tests := []struct {
		line string
		want tick.Tick
	}{
		{
			`{"type":"quote","ts":"2026-12-03T14:30:00.000000001Z","symbol":"AAPL  261218C00200000","bid":2.30,"ask":2.40,"bid_size":10,"ask_size":12}`,
			tick.Tick{Type: tick.Quote, TS: 1796308200000000001, Underlying: "AAPL", Symbol: "AAPL  261218C00200000",
				Bid: 2.30, Ask: 2.40, BidSize: 10, AskSize: 12, Conditions: []string{}},
		},
		{
			`{"type":"trade","ts":"2026-12-03T09:30:00.5-05:00","symbol":"O:AAPL261218C00200000","price":2.40,"size":50,"exchange":"CBOE","conditions":["ISOI"]}`,
			tick.Tick{Type: tick.Trade, TS: 1796308200500000000, Underlying: "AAPL", Symbol: "AAPL  261218C00200000",
				Price: 2.40, Size: 50, Exchange: "CBOE", Conditions: []string{"ISOI"}},
		},
		{
			`{"type":"spot","ts":"2026-12-03T14:30:00Z","underlying":"AAPL","price":199.5}`,
			tick.Tick{Type: tick.Spot, TS: 1796308200000000000, Underlying: "AAPL", Price: 199.5, Conditions: []string{}},
		},
		{
			`{"type":"oi","ts":"2026-12-03T14:30:00Z","symbol":"AAPL__261218P00180000","open_interest":0}`,
			tick.Tick{Type: tick.OpenInterest, TS: 1796308200000000000, Underlying: "AAPL",
				Symbol: "AAPL  261218P00180000", Conditions: []string{}},
		},
	}
	for _, tt := range tests {
		got, err := Parse([]byte(tt.line))
		if err != nil {
			t.Fatalf("Parse(%s): %v", tt.line, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%s)\n got %+v\nwant %+v", tt.line, got, tt.want)
		}

		// Format must give a line that parses to the same tick.
		b, err := Format(&got)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(b)
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("Format round trip of %s: %s -> %+v, %v", tt.line, b, again, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := map[string]string{
		`not json`:        ReasonMalformed,
		`{"type":"trade"`: ReasonMalformed,
		`{"type":"trade","ts":"2026-12-03T14:30:00Z","symbol":"AAPL261218C00200000","price":"2.4","size":1}`:           ReasonMalformed,
		`{"type":"trade","ts":"2026-12-03T14:30:00Z","symbol":"AAPL261218C00200000","price":2.4,"size":1,"venue":"X"}`: ReasonMalformed,
		`{"type":"spot","ts":"2026-12-03T14:30:00Z","underlying":"A","price":1} {}`:                                    ReasonMalformed,
		`{"type":"bar","ts":"2026-12-03T14:30:00Z"}`:                                                                   ReasonType,
		`{"type":"trade","ts":"2026-12-03T14:30:00Z","symbol":"AAPL","price":2.4,"size":1}`:                            ReasonSymbol,
		`{"type":"trade","ts":"yesterday","symbol":"AAPL261218C00200000","price":2.4,"size":1}`:                        ReasonInvalid,
		`{"type":"trade","ts":"2026-12-03T14:30:00Z","symbol":"AAPL261218C00200000","price":2.4}`:                      ReasonInvalid,
		`{"type":"oi","ts":"2026-12-03T14:30:00Z","symbol":"AAPL261218C00200000"}`:                                     ReasonInvalid,
		`{"type":"spot","ts":"2026-12-03T14:30:00Z","price":1}`:                                                        ReasonInvalid,
	}
	for in, reason := range tests {
		_, err := Parse([]byte(in))
		var le *LineError
		if !errors.As(err, &le) || le.Reason != reason {
			t.Errorf("Parse(%s) = %v, want reason %s", in, err, reason)
		}
	}
}

func TestReaderSkipsBadLinesAndNumbersThem(t *testing.T) {
	in := strings.Join([]string{
		`{"type":"spot","ts":"2026-12-03T14:30:00Z","underlying":"AAPL","price":1}`,
		``,
		`garbage`,
		`{"type":"spot","ts":"2026-12-03T14:30:01Z","underlying":"AAPL","price":2}`,
		strings.Repeat("x", maxLine+10),
		`{"type":"spot","ts":"2026-12-03T14:30:02Z","underlying":"AAPL","price":3}`, // no newline at the end
	}, "\r\n")

	r := NewReader(strings.NewReader(in))
	var prices []float64
	var badLines []int
	for {
		tk, err := r.Next()
		if err == io.EOF {
			break
		}
		var le *LineError
		if errors.As(err, &le) {
			badLines = append(badLines, le.Line)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		prices = append(prices, tk.Price)
	}
	if !reflect.DeepEqual(prices, []float64{1, 2, 3}) {
		t.Errorf("prices = %v, want [1 2 3]", prices)
	}
	if !reflect.DeepEqual(badLines, []int{3, 5}) {
		t.Errorf("rejected lines = %v, want [3 5]", badLines)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"type":"trade","ts":"2026-12-03T14:30:00Z","symbol":"AAPL261218C00200000","price":2.4,"size":1}`))
	f.Add([]byte(`{"type":"oi","ts":"2026-12-03T14:30:00Z","symbol":"AAPL261218C00200000","open_interest":5}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := Parse(b)
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("error is not a *LineError: %v", err)
			}
			return
		}
		if err := tk.Validate(); err != nil {
			t.Fatalf("Parse accepted a tick that does not validate: %v", err)
		}
	})
}

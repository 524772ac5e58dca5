package flow

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/liveflow/liveflow/pkg/internal/avrocheck"
	"github.com/liveflow/liveflow/schemas"
)

func TestSchemaMatchesType(t *testing.T) {
	avrocheck.SameFields(t, schemas.FlowEvent, Event{})
}

func sample() Event {
	e := Event{
		Source: Source{Partition: 3, Offset: 1200, N: 1}, Flags: Golden | ISO,
		Kind: KindSweep, TS: 10, IngestTS: 11, ScoredTS: 12, Underlying: "AAPL",
		Symbol: "AAPL  261218C00200000", Expiry: "2026-12-18", DTE: 15, Strike: 200, Right: "C",
		Side: SideAsk, Sentiment: Bullish, Price: 2.4, Size: 600, Premium: 144000, Bid: 2.3,
		Ask: 2.4, Spot: 199.5, OTMPct: 0.25, Volume: 900, OpenInterest: 400, Exchanges: 2,
		Conditions: []string{"ISOI"},
		Fills: []Fill{
			{Source: Source{3, 1198, 0}, TS: 9, Symbol: "AAPL  261218C00200000", Exchange: "CBOE", Price: 2.4, Size: 300, Side: SideAsk},
			{Source: Source{3, 1200, 0}, TS: 10, Symbol: "AAPL  261218C00200000", Exchange: "PHLX", Price: 2.4, Size: 300, Side: SideAsk},
		},
		Score: 57, Components: Components{Premium: 20, Aggression: 10, Kind: 27},
		Reasons: []string{"premium $144K: +20"},
	}
	e.Finish()
	return e
}

func TestFinishRendersWireFields(t *testing.T) {
	e := sample()
	if e.Key != "3.1200.1" || e.Fills[0].Key != "3.1198.0" {
		t.Errorf("keys %q, %q", e.Key, e.Fills[0].Key)
	}
	if !reflect.DeepEqual(e.FlagNames, []string{"golden", "iso"}) {
		t.Errorf("flags %v", e.FlagNames)
	}
	var bare Event
	bare.Finish()
	if bare.Conditions == nil || bare.Fills == nil || bare.Cancels == nil || bare.Reasons == nil || bare.FlagNames == nil {
		t.Errorf("Finish left nil lists: %+v", bare)
	}
	if got := (Components{1, 2, 3, 4, 5, 6, 7}).Sum(); got != 28 {
		t.Errorf("Sum = %d", got)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	c, err := NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	in := sample()
	b, err := c.Encode(&in)
	if err != nil {
		t.Fatal(err)
	}
	var out Event
	if err := c.Decode(b, &out); err != nil {
		t.Fatal(err)
	}
	// The compact fields do not travel; the wire fields carry them.
	in.Source, in.Flags = Source{}, 0
	for i := range in.Fills {
		in.Fills[i].Source = Source{}
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

// The JSON names are part of the WebSocket protocol; they must match the Avro
// field names so one vocabulary serves both.
func TestJSONNamesMatchAvro(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeOf(Event{}), reflect.TypeOf(Fill{}), reflect.TypeOf(Components{})} {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			if f.Tag.Get("json") != f.Tag.Get("avro") {
				t.Errorf("%s.%s: json %q != avro %q", typ.Name(), f.Name, f.Tag.Get("json"), f.Tag.Get("avro"))
			}
		}
	}
	e := sample()
	b, err := e.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	e.Source, e.Flags = Source{}, 0
	for i := range e.Fills {
		e.Fills[i].Source = Source{}
	}
	if !reflect.DeepEqual(back, e) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", back, e)
	}
}

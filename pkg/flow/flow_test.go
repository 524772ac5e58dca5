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
	return Event{
		Key: "3.1200.0", TS: 10, IngestTS: 11, ScoredTS: 12, Underlying: "AAPL",
		Symbol: "AAPL  261218C00200000", Expiry: "2026-12-18", Strike: 200, Right: "C",
		Kind: KindBlock, Side: SideAsk, Sentiment: Bullish, Price: 2.4, Size: 600,
		Premium: 144000, Bid: 2.3, Ask: 2.4, Spot: 199.5, Exchange: "CBOE",
		Conditions: []string{"ISOI"}, Score: 57, Reasons: []string{"premium $144K"},
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
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

// The JSON names are part of the WebSocket protocol; they must match the Avro
// field names so one vocabulary serves both.
func TestJSONNamesMatchAvro(t *testing.T) {
	typ := reflect.TypeOf(Event{})
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Tag.Get("json") != f.Tag.Get("avro") {
			t.Errorf("field %s: json %q != avro %q", f.Name, f.Tag.Get("json"), f.Tag.Get("avro"))
		}
	}

	e := sample()
	b, err := e.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, e) {
		t.Errorf("JSON round trip: %s -> %+v, %v", b, back, err)
	}
}

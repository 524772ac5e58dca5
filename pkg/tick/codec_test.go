package tick

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/liveflow/liveflow/pkg/internal/avrocheck"
	"github.com/liveflow/liveflow/schemas"
)

func TestSchemaMatchesType(t *testing.T) {
	avrocheck.SameFields(t, schemas.Tick, Tick{})
}

func TestCodecRoundTrip(t *testing.T) {
	c, err := NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []Tick{
		{Type: Trade, TS: 1, IngestTS: 2, Underlying: "AAPL", Symbol: "AAPL  261218C00200000",
			Price: 2.4, Size: 50, Exchange: "CBOE", Conditions: []string{"ISOI", "LATE"}},
		{Type: Quote, TS: 3, Underlying: "AAPL", Symbol: "AAPL  261218C00200000",
			Bid: 2.3, Ask: 2.4, BidSize: 10, AskSize: 12, Conditions: []string{}},
		{Type: Spot, TS: 4, Underlying: "SPY", Price: 650.25, Conditions: []string{}},
		{Type: OpenInterest, TS: 5, Underlying: "SPY", Symbol: "SPY   261218P00600000",
			OpenInterest: 1200, Conditions: []string{}},
	} {
		b, err := c.Encode(&in)
		if err != nil {
			t.Fatalf("encode %+v: %v", in, err)
		}
		// Single-object encoding: magic C3 01, then the 8-byte fingerprint.
		if !bytes.HasPrefix(b, []byte{0xC3, 0x01}) || len(b) < 10 {
			t.Fatalf("encoded %s tick lacks the single-object header: % x", in.Type, b)
		}
		var out Tick
		if err := c.Decode(b, &out); err != nil {
			t.Fatalf("decode %s: %v", in.Type, err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
		}
	}
}

func TestCodecRejectsForeignRecords(t *testing.T) {
	c, err := NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	good, err := c.Encode(&Tick{Type: Spot, TS: 1, Underlying: "SPY", Price: 1})
	if err != nil {
		t.Fatal(err)
	}
	otherFingerprint := bytes.Clone(good)
	otherFingerprint[2] ^= 0xFF

	for name, b := range map[string][]byte{
		"empty":             nil,
		"json":              []byte(`{"type":"trade"}`),
		"other fingerprint": otherFingerprint,
		"truncated":         good[:len(good)-2],
	} {
		var out Tick
		if err := c.Decode(b, &out); err == nil {
			t.Errorf("%s: decode succeeded, want an error", name)
		}
	}
}

func FuzzDecode(f *testing.F) {
	c, err := NewCodec()
	if err != nil {
		f.Fatal(err)
	}
	seed, err := c.Encode(&Tick{Type: Trade, TS: 1, Underlying: "AAPL", Symbol: "AAPL  261218C00200000",
		Price: 2.4, Size: 50, Exchange: "CBOE", Conditions: []string{"ISOI"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte{0xC3, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var tk Tick
		if err := c.Decode(b, &tk); err != nil {
			return
		}
		// Whatever decodes must validate or be rejected with ErrInvalid,
		// and must encode again.
		if err := tk.Validate(); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Validate returned an unwrapped error: %v", err)
		}
		if _, err := c.Encode(&tk); err != nil {
			t.Fatalf("decoded tick does not encode: %v", err)
		}
	})
}

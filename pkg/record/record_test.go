package record

import (
	"bytes"
	"errors"
	"testing"
)

const pointSchema = `{"type":"record","name":"Point","namespace":"test","fields":[
	{"name":"x","type":"long"},{"name":"label","type":"string"}]}`

type point struct {
	X     int64  `avro:"x"`
	Label string `avro:"label"`
}

func TestRoundTrip(t *testing.T) {
	c, err := NewCodec[point](pointSchema)
	if err != nil {
		t.Fatal(err)
	}
	in := point{X: -42, Label: "héllo"}
	b, err := c.Encode(&in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:2], []byte{0xC3, 0x01}) || !bytes.Equal(b[2:10], c.Fingerprint()) {
		t.Fatalf("header % x does not carry the magic and fingerprint % x", b[:10], c.Fingerprint())
	}
	var out point
	if err := c.Decode(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("got %+v, want %+v", out, in)
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	c, err := NewCodec[point](pointSchema)
	if err != nil {
		t.Fatal(err)
	}
	good, err := c.Encode(&point{X: 1000, Label: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	otherSchema := bytes.Clone(good)
	otherSchema[5] ^= 0x01

	cases := map[string][]byte{
		"empty":        nil,
		"json":         []byte(`{"x":1,"label":"abc"}`),
		"header only":  good[:10],
		"cut string":   good[:len(good)-1],
		"trailing":     append(bytes.Clone(good), 0),
		"other schema": otherSchema,
	}
	for name, b := range cases {
		var out point
		err := c.Decode(b, &out)
		if err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, out)
			continue
		}
		if name == "other schema" && !errors.Is(err, ErrSchema) {
			t.Errorf("%s: error %v does not wrap ErrSchema", name, err)
		}
	}
}

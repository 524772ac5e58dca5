package record

import "testing"

// FuzzDecode feeds arbitrary bytes to a single-object codec and to one that
// uses a schema registry (and reads both framings): Decode must return an
// error or a value that encodes and decodes to itself, never panic or
// allocate without bound.
func FuzzDecode(f *testing.F) {
	plain, err := NewCodec[point](pointSchema)
	if err != nil {
		f.Fatal(err)
	}
	framed, err := NewCodec[point](pointSchema)
	if err != nil {
		f.Fatal(err)
	}
	framed.UseRegistryID(7)
	for _, c := range []*Codec[point]{plain, framed} {
		b, err := c.Encode(&point{X: 42, Label: "sweep"})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xC3, 0x01})
	f.Add([]byte{0, 0, 0, 0, 7, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []*Codec[point]{plain, framed} {
			var p point
			if err := c.Decode(b, &p); err != nil {
				continue
			}
			again, err := c.Encode(&p)
			if err != nil {
				t.Fatalf("decoded %+v does not encode: %v", p, err)
			}
			var q point
			if err := c.Decode(again, &q); err != nil || q != p {
				t.Fatalf("%+v encodes to % x, which decodes to %+v, %v", p, again, q, err)
			}
		}
	})
}

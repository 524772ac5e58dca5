package tick

import "testing"

func BenchmarkCodec(b *testing.B) {
	c, err := NewCodec()
	if err != nil {
		b.Fatal(err)
	}
	in := Tick{Type: Trade, TS: 1796308200030000000, IngestTS: 1796308200030100000, Underlying: "AAPL",
		Symbol: "AAPL  261218C00200000", Price: 2.4, Size: 50, Exchange: "CBOE", Conditions: []string{"ISOI"}}
	enc, err := c.Encode(&in)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := c.Encode(&in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		var out Tick
		for i := 0; i < b.N; i++ {
			if err := c.Decode(enc, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

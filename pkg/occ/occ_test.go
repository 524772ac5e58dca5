package occ

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	want := Contract{
		Root:   "AAPL",
		Expiry: time.Date(2026, 12, 18, 0, 0, 0, 0, time.UTC),
		Right:  Call,
		Strike: 200000,
	}
	for _, in := range []string{
		"AAPL  261218C00200000",
		"AAPL261218C00200000",
		"O:AAPL261218C00200000",
		"AAPL__261218C00200000",
		"O:AAPL  261218C00200000",
	} {
		got, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if got != want {
			t.Errorf("Parse(%q) = %+v, want %+v", in, got, want)
		}
		if s := got.String(); s != "AAPL  261218C00200000" {
			t.Errorf("String() = %q", s)
		}
	}
}

func TestParseVariants(t *testing.T) {
	tests := []struct {
		in     string
		root   string
		right  Right
		strike float64
	}{
		{"SPXW  251219P05800000", "SPXW", Put, 5800},
		{"AAPL1 270115C00142500", "AAPL1", Call, 142.5},
		{"GOOGLX270115C00001000", "GOOGLX", Call, 1},
		{"F261218P00012500", "F", Put, 12.5},
	}
	for _, tt := range tests {
		c, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		if c.Root != tt.root || c.Right != tt.right || c.StrikePrice() != tt.strike {
			t.Errorf("Parse(%q) = %+v", tt.in, c)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"",
		"AAPL",
		"261218C00200000",
		"TOOLONG261218C00200000",
		"aapl  261218C00200000",
		"AAPL  261318C00200000", // month 13
		"AAPL  260230C00200000", // 30 February
		"AAPL  261218X00200000",
		"AAPL  261218C0020000x",
		"AA-L  261218C00200000",
		"O:",
	} {
		if _, err := Parse(in); !errors.Is(err, ErrSymbol) {
			t.Errorf("Parse(%q) error = %v, want ErrSymbol", in, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := map[string]string{
		"O:SPY251219C00650000":  "SPY   251219C00650000",
		"SPY___251219C00650000": "SPY   251219C00650000",
		"SPY   251219C00650000": "SPY   251219C00650000",
		"GOOGLX270115C00001000": "GOOGLX270115C00001000",
	}
	for in, want := range tests {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Parse("O:AAPL261218C00200000"); err != nil {
			t.Fatal(err)
		}
		if _, err := Normalize("AAPL  261218C00200000"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Parse and Normalize allocate %.1f times per call, want 0", allocs)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"AAPL  261218C00200000", "O:SPY251219P00650000", "AAPL1_270115C00142500", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		// A parsed symbol must survive a round trip through its canonical form.
		back, err := Parse(c.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", c.String(), s, err)
		}
		if back != c {
			t.Fatalf("round trip of %q: %+v != %+v", s, back, c)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse("O:SPY251219C00650000"); err != nil {
			b.Fatal(err)
		}
	}
}

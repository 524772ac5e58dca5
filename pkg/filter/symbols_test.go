package filter

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalizeSymbols(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr string
	}{
		{name: "upper-cases and keeps order", in: []string{"tsla", "AAPL", "9988"},
			want: []string{"TSLA", "AAPL", "9988"}},
		{name: "removes duplicates", in: []string{"aapl", "AAPL", "Aapl", "msft"},
			want: []string{"AAPL", "MSFT"}},
		{name: "six characters", in: []string{"ABCDEF"}, want: []string{"ABCDEF"}},
		{name: "nil", wantErr: "empty"},
		{name: "empty list", in: []string{}, wantErr: "empty"},
		{name: "empty symbol", in: []string{""}, wantErr: `""`},
		{name: "seven characters", in: []string{"ABCDEFG"}, wantErr: `"ABCDEFG"`},
		{name: "punctuation", in: []string{"AAPL", "TOO-LONG!"}, wantErr: `"TOO-LONG!"`},
		{name: "option symbol", in: []string{"AAPL  240119C00190000"}, wantErr: "not an underlying"},
		{name: "space", in: []string{"BRK B"}, wantErr: `"BRK B"`},
		{name: "non-ASCII letter", in: []string{"ÄPL"}, wantErr: "not an underlying"},
		{name: "too many", in: make([]string, MaxSymbols+1), wantErr: "at most 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeSymbols(tt.in)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("NormalizeSymbols(%q) = %q, %v; want an error naming %s", tt.in, got, err, tt.wantErr)
				}
			case err != nil || !slices.Equal(got, tt.want):
				t.Errorf("NormalizeSymbols(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzNormalizeSymbols checks that whatever a client sends, accepted symbols
// are distinct upper-case underlyings of 1 to 6 letters or digits, and the
// input is not modified.
func FuzzNormalizeSymbols(f *testing.F) {
	f.Add("aapl", "AAPL")
	f.Add("TOO-LONG!", "")
	f.Add("brk1", "ÿ")
	f.Fuzz(func(t *testing.T, a, b string) {
		in := []string{a, b}
		got, err := NormalizeSymbols(in)
		if in[0] != a || in[1] != b {
			t.Fatalf("input modified to %q", in)
		}
		if err != nil {
			return
		}
		if len(got) == 0 || len(got) > 2 || (len(got) == 2) != !strings.EqualFold(a, b) {
			t.Fatalf("NormalizeSymbols(%q, %q) = %q: wrong de-duplication", a, b, got)
		}
		for _, s := range got {
			if len(s) < 1 || len(s) > 6 || strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
				t.Fatalf("NormalizeSymbols(%q, %q) accepted %q", a, b, s)
			}
		}
		if got[0] != strings.ToUpper(a) {
			t.Fatalf("NormalizeSymbols(%q, %q)[0] = %q, want %q", a, b, got[0], strings.ToUpper(a))
		}
	})
}

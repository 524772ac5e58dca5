package filter

import "fmt"

// MaxSymbols bounds the symbols of one filter.
const MaxSymbols = 1000

// NormalizeSymbols validates the underlyings of a filter, upper-cases them
// and removes duplicates, keeping the first occurrence's place. "*" alone
// stands for every underlying. in is not modified.
func NormalizeSymbols(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("filter.symbols is empty")
	}
	if len(in) > MaxSymbols {
		return nil, fmt.Errorf("filter.symbols has %d entries, at most %d allowed", len(in), MaxSymbols)
	}
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s == "*" {
			if len(in) > 1 {
				return nil, fmt.Errorf("the whole feed (*) is a subscription of its own; do not list underlyings with it")
			}
			return []string{"*"}, nil
		}
		u, ok := Root(s)
		if !ok {
			return nil, fmt.Errorf("symbol %q is not an underlying (1 to 6 letters or digits)", s)
		}
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out, nil
}

// Root returns s upper-cased when it is an underlying: 1 to 6 ASCII letters
// or digits.
func Root(s string) (string, bool) {
	if len(s) == 0 || len(s) > 6 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			return "", false
		}
	}
	return string(b), true
}

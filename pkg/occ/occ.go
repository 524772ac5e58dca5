// Package occ parses and formats OCC/OSI option symbols.
//
// The canonical form is 21 characters: the root right-padded with spaces to six,
// the expiry as YYMMDD, C or P, and the strike times 1000 zero-padded to eight
// digits, e.g. "AAPL  261218C00200000" for the AAPL 200 call of 2026-12-18.
// Parse also accepts the common variants: no padding, underscores as padding and
// a vendor "O:" prefix.
package occ

import (
	"errors"
	"fmt"
	"time"
)

// Right says whether a contract is a call or a put.
type Right byte

// The two rights, as they appear in the symbol.
const (
	Call Right = 'C'
	Put  Right = 'P'
)

// String returns "C" or "P".
func (r Right) String() string {
	if r == Put {
		return "P"
	}
	return "C"
}

// Contract is a parsed option symbol.
type Contract struct {
	Root   string    // underlying root, 1 to 6 characters, e.g. AAPL or AAPL1
	Expiry time.Time // expiry date at midnight UTC
	Right  Right
	Strike int64 // strike price in thousandths of a dollar
}

// StrikePrice returns the strike in dollars.
func (c Contract) StrikePrice() float64 {
	return float64(c.Strike) / 1000
}

// String returns the canonical 21-character symbol.
func (c Contract) String() string {
	y, m, d := c.Expiry.Date()
	return fmt.Sprintf("%-6s%02d%02d%02d%c%08d", c.Root, y%100, int(m), d, c.Right, c.Strike)
}

// ErrSymbol is wrapped by every error Parse returns, so callers can count
// rejected symbols without matching messages.
var ErrSymbol = errors.New("invalid option symbol")

// tailLen is the length of the fixed part after the root: YYMMDD, right, strike.
const tailLen = 6 + 1 + 8

// Parse reads an option symbol in any of the accepted forms.
// It does not allocate for valid input.
func Parse(s string) (Contract, error) {
	raw := s
	if len(s) > 2 && s[0] == 'O' && s[1] == ':' {
		s = s[2:]
	}
	if len(s) <= tailLen {
		return Contract{}, fmt.Errorf("%w %q: too short", ErrSymbol, raw)
	}
	root, tail := trimPadding(s[:len(s)-tailLen]), s[len(s)-tailLen:]
	if len(root) == 0 || len(root) > 6 {
		return Contract{}, fmt.Errorf("%w %q: root must have 1 to 6 characters", ErrSymbol, raw)
	}
	for i := 0; i < len(root); i++ {
		if !isUpper(root[i]) && !isDigit(root[i]) {
			return Contract{}, fmt.Errorf("%w %q: root may hold only A-Z and 0-9", ErrSymbol, raw)
		}
	}

	yy, ok1 := digits(tail[0:2])
	mm, ok2 := digits(tail[2:4])
	dd, ok3 := digits(tail[4:6])
	strike, ok4 := digits(tail[7:15])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return Contract{}, fmt.Errorf("%w %q: expiry and strike must be digits", ErrSymbol, raw)
	}
	expiry := time.Date(2000+int(yy), time.Month(mm), int(dd), 0, 0, 0, 0, time.UTC)
	if mm < 1 || mm > 12 || dd < 1 || expiry.Day() != int(dd) {
		return Contract{}, fmt.Errorf("%w %q: no such expiry date", ErrSymbol, raw)
	}

	right := Right(tail[6])
	if right != Call && right != Put {
		return Contract{}, fmt.Errorf("%w %q: right must be C or P", ErrSymbol, raw)
	}
	return Contract{Root: root, Expiry: expiry, Right: right, Strike: strike}, nil
}

// Normalize returns the canonical 21-character form of any accepted symbol.
// A symbol already in canonical form is returned as is, without allocating.
func Normalize(s string) (string, error) {
	c, err := Parse(s)
	if err != nil {
		return "", err
	}
	if isCanonical(s, c.Root) {
		return s, nil
	}
	return c.String(), nil
}

// isCanonical reports whether the valid symbol s is the root padded with spaces
// to six characters followed by the tail.
func isCanonical(s, root string) bool {
	if len(s) != 6+tailLen || s[:len(root)] != root {
		return false
	}
	for i := len(root); i < 6; i++ {
		if s[i] != ' ' {
			return false
		}
	}
	return true
}

// trimPadding removes the spaces or underscores that pad a root on the right.
func trimPadding(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '_') {
		s = s[:len(s)-1]
	}
	return s
}

func digits(s string) (int64, bool) {
	var n int64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

// Package secret holds credentials so that printing or logging them by
// mistake shows a placeholder instead of the credential.
package secret

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// String is a credential. Printed with fmt (as an operand or as a field of a
// printed struct), encoded as JSON or text, or logged through zap's
// reflection, it never shows its value; only Reveal does. The zero value is
// no credential.
type String struct {
	// A pointer, so that fmt printing a struct that holds a String in an
	// unexported field shows an address, not the value.
	v *string
}

// New returns a String holding s.
func New(s string) String { return String{v: &s} }

// Reveal returns the credential, for the one place that must send it.
func (s String) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether s holds no credential.
func (s String) IsZero() bool { return s.Reveal() == "" }

const placeholder = "[redacted]"

// String implements fmt.Stringer with a placeholder.
func (s String) String() string { return placeholder }

// GoString implements fmt.GoStringer with a placeholder.
func (s String) GoString() string { return placeholder }

// MarshalText implements encoding.TextMarshaler with a placeholder, which
// JSON encoding and zap's reflection use.
func (s String) MarshalText() ([]byte, error) { return []byte(placeholder), nil }

// ErrBoth is returned by Load when the variable and the file are both set.
var ErrBoth = errors.New("secret: both the variable and the file are set; give one")

// Load reads a credential from the environment variable env or, when that is
// empty, from the file named by path (surrounding white space removed). Both
// empty gives the zero String and no error.
func Load(env, path string) (String, error) {
	v := os.Getenv(env)
	switch {
	case v != "" && path != "":
		return String{}, ErrBoth
	case v != "":
		return New(v), nil
	case path == "":
		return String{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return String{}, fmt.Errorf("secret: %w", err)
	}
	v = strings.TrimSpace(string(b))
	if v == "" {
		return String{}, fmt.Errorf("secret: %s is empty", path)
	}
	return New(v), nil
}

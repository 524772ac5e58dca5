package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzAuthenticate feeds arbitrary credentials, in the header and in the
// query, to an authenticator that takes HS256 tokens and API keys: it must
// refuse them or return a user, never panic.
func FuzzAuthenticate(f *testing.F) {
	key := sha256.Sum256([]byte("quant-desk-key"))
	a, err := New(Config{HS256Secret: secret, Now: func() time.Time { return now },
		APIKeys: []APIKey{{SHA256: hex.EncodeToString(key[:]), User: "quant", Symbols: []string{"SPY"}}}})
	if err != nil {
		f.Fatal(err)
	}
	good, err := jwt.NewWithClaims(jwt.SigningMethodHS256, valid(map[string]any{"symbols": []any{"aapl", "SPY"}})).
		SignedString(secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("quant-desk-key")
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, cred string) {
		for _, r := range []struct{ header, query string }{
			{"Bearer " + cred, ""}, {"", "?access_token=" + url.QueryEscape(cred)},
		} {
			req := httptest.NewRequest("GET", "/ws"+r.query, nil)
			if r.header != "" {
				req.Header.Set("Authorization", r.header)
			}
			id, err := a.Authenticate(req)
			if err == nil && id.User == "" {
				t.Fatalf("credential %q accepted without a user", cred)
			}
		}
	})
}

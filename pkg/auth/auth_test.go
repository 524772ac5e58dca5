package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	secret = []byte("0123456789abcdef0123456789abcdef")
	now    = time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
)

func sign(t *testing.T, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func valid(extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{"sub": "trader-7", "exp": now.Add(time.Hour).Unix()}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func authenticate(a *Authenticator, header, query string) (Identity, error) {
	r := httptest.NewRequest("GET", "/ws"+query, nil)
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	return a.Authenticate(r)
}

func TestTokens(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParseRSAPublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{HS256Secret: secret, RS256Key: pub, Issuer: "desk-sso", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	iss := map[string]any{"iss": "desk-sso"}

	cases := []struct {
		name   string
		header string
		query  string
		want   Identity
		refuse string // part of the refusal; empty when accepted
	}{
		{
			name:   "HS256 in the header",
			header: "Bearer " + sign(t, jwt.SigningMethodHS256, secret, valid(iss)),
			want:   Identity{User: "trader-7", Expires: now.Add(time.Hour)},
		},
		{
			name:  "RS256 in the query, with entitlements",
			query: "?access_token=" + sign(t, jwt.SigningMethodRS256, rsaKey, valid(map[string]any{"iss": "desk-sso", "symbols": []string{"spy", "AAPL"}, "firehose": true})),
			want:  Identity{User: "trader-7", Symbols: []string{"SPY", "AAPL"}, Firehose: true, Expires: now.Add(time.Hour)},
		},
		{
			name:   "expired",
			header: "Bearer " + sign(t, jwt.SigningMethodHS256, secret, valid(map[string]any{"iss": "desk-sso", "exp": now.Add(-time.Minute).Unix()})),
			refuse: "token expired",
		},
		{
			name:   "no expiry",
			header: "Bearer " + sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"sub": "x", "iss": "desk-sso"}),
			refuse: "exp claim is required",
		},
		{
			name:   "wrong secret",
			header: "Bearer " + sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), valid(iss)),
			refuse: "signature is not valid",
		},
		{
			// The classic confusion: an HS256 token keyed with the RSA
			// public key, which an attacker knows.
			name:   "HS256 keyed with the RSA public key",
			header: "Bearer " + sign(t, jwt.SigningMethodHS256, der, valid(iss)),
			refuse: "signature is not valid",
		},
		{
			name:   "unsigned",
			header: "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid(iss)),
			refuse: "signature is not valid",
		},
		{
			name:   "wrong issuer",
			header: "Bearer " + sign(t, jwt.SigningMethodHS256, secret, valid(map[string]any{"iss": "elsewhere"})),
			refuse: "token refused",
		},
		{
			name:   "no subject",
			header: "Bearer " + sign(t, jwt.SigningMethodHS256, secret, jwt.MapClaims{"iss": "desk-sso", "exp": now.Add(time.Hour).Unix()}),
			refuse: "no subject",
		},
		{
			name:   "bad symbols claim",
			header: "Bearer " + sign(t, jwt.SigningMethodHS256, secret, valid(map[string]any{"iss": "desk-sso", "symbols": []string{"NOT-ONE"}})),
			refuse: "claim symbols",
		},
		{name: "missing", refuse: "required"},
		{name: "garbage", header: "Bearer a.b.c", refuse: "token refused"},
		{name: "API key on a node without keys", header: "Bearer some-key", refuse: "unknown API key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := authenticate(a, c.header, c.query)
			if c.refuse != "" {
				var ae *Error
				if !errors.As(err, &ae) || !strings.Contains(ae.Reason, c.refuse) {
					t.Fatalf("got %+v, %v; want a refusal containing %q", id, err, c.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.User != c.want.User || !slices.Equal(id.Symbols, c.want.Symbols) ||
				id.Firehose != c.want.Firehose || !id.Expires.Equal(c.want.Expires) {
				t.Fatalf("identity %+v, want %+v", id, c.want)
			}
		})
	}
}

func TestAPIKeys(t *testing.T) {
	sum := sha256.Sum256([]byte("k-quant-desk"))
	file := `{"keys":[{"sha256":"` + hex.EncodeToString(sum[:]) + `","user":"quant-desk","symbols":["qqq"],"firehose":true}]}`
	keys, err := ReadAPIKeys(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Config{APIKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Required() {
		t.Fatal("a node with API keys must require a credential")
	}

	id, err := authenticate(a, "Bearer k-quant-desk", "")
	if err != nil {
		t.Fatal(err)
	}
	if id.User != "quant-desk" || !id.Firehose || !id.Allows("QQQ") || id.Allows("SPY") {
		t.Fatalf("identity %+v", id)
	}
	if _, err := authenticate(a, "", "?access_token=k-other"); err == nil || err.Error() != "unknown API key" {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := authenticate(a, "Bearer "+sign(t, jwt.SigningMethodHS256, secret, valid(nil)), ""); err == nil ||
		!strings.Contains(err.Error(), "accepts no tokens") {
		t.Fatalf("token on a key-only node: %v", err)
	}
}

func TestAnonymousWhenNothingIsConfigured(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := authenticate(a, "", "")
	if err != nil || id.User != "" || id.Firehose || !id.Allows("SPY") {
		t.Fatalf("anonymous: %+v, %v", id, err)
	}
}

func TestConfigRejects(t *testing.T) {
	cases := map[string]Config{
		"short secret": {HS256Secret: []byte("short")},
		"bad hash":     {APIKeys: []APIKey{{SHA256: "abc", User: "u"}}},
		"no user":      {APIKeys: []APIKey{{SHA256: strings.Repeat("ab", 32)}}},
		"twice": {APIKeys: []APIKey{
			{SHA256: strings.Repeat("ab", 32), User: "u"}, {SHA256: strings.Repeat("AB", 32), User: "v"},
		}},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ReadAPIKeys(strings.NewReader(`{"keys":[{"sha256":"x","user":"u","firehoze":true}]}`)); err == nil {
		t.Error("a misspelled field was accepted")
	}
}

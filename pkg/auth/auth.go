// Package auth decides who the client of a liveflow service is (a WebSocket
// client of an edge, a caller of the alerts API): a user named by a JSON Web
// Token (HS256 or RS256) or by an API key, with what the credential entitles
// it to see.
//
// A credential travels in the Authorization header ("Bearer <token>") or,
// for browsers, which cannot set headers on a WebSocket, in the access_token
// query parameter. A credential with two dots is read as a JWT, anything
// else as an API key.
//
// A JWT must be signed with a configured method and key, carry "sub" (the
// user) and "exp", and may carry "symbols" (the only underlyings the user may
// watch; absent means any) and "firehose" (true lets the user subscribe to
// the whole feed). API keys are configured by the SHA-256 of the key, so the
// file that lists them holds no secret.
package auth

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Leeway is the clock skew allowed between the token issuer and the node.
const Leeway = 5 * time.Second

// Identity is an authenticated client.
type Identity struct {
	// User names the holder of the credential; it is empty for an
	// anonymous client of a node that does not require credentials.
	User string
	// Symbols, when not nil, are the only underlyings the user may watch.
	Symbols []string
	// Firehose allows subscribing to every underlying at once.
	Firehose bool
	// Expires is when the credential stops being valid, Leeway not
	// included; zero for API keys and anonymous clients.
	Expires time.Time
}

// Allows reports whether the identity may watch an underlying.
func (id Identity) Allows(underlying string) bool {
	if id.Symbols == nil {
		return true
	}
	for _, s := range id.Symbols {
		if s == underlying {
			return true
		}
	}
	return false
}

// Config says which credentials a node accepts. When none is set, every
// client is anonymous, may watch any underlying and not the whole feed.
type Config struct {
	HS256Secret []byte         // shared secret of HS256 tokens
	RS256Key    *rsa.PublicKey // public key of RS256 tokens
	Issuer      string         // when set, tokens must carry this "iss"
	Audience    string         // when set, tokens must list this "aud"
	APIKeys     []APIKey
	// Now is the clock tokens are checked against; nil means time.Now.
	Now func() time.Time
}

// APIKey is one entry of the API key file.
type APIKey struct {
	SHA256   string   `json:"sha256"` // hex SHA-256 of the key
	User     string   `json:"user"`
	Symbols  []string `json:"symbols,omitempty"`
	Firehose bool     `json:"firehose,omitempty"`
}

// Authenticator checks credentials. It is safe for concurrent use.
type Authenticator struct {
	cfg     Config
	methods []string
	keys    map[[sha256.Size]byte]Identity
}

// New checks cfg and returns an Authenticator.
func New(cfg Config) (*Authenticator, error) {
	if len(cfg.HS256Secret) > 0 && len(cfg.HS256Secret) < 32 {
		return nil, fmt.Errorf("auth: the HS256 secret has %d bytes; use at least 32", len(cfg.HS256Secret))
	}
	a := &Authenticator{cfg: cfg, keys: make(map[[sha256.Size]byte]Identity)}
	if a.cfg.Now == nil {
		a.cfg.Now = time.Now
	}
	if len(cfg.HS256Secret) > 0 {
		a.methods = append(a.methods, jwt.SigningMethodHS256.Alg())
	}
	if cfg.RS256Key != nil {
		a.methods = append(a.methods, jwt.SigningMethodRS256.Alg())
	}
	for i, k := range cfg.APIKeys {
		sum, err := hex.DecodeString(k.SHA256)
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("auth: API key %d: sha256 %q is not 64 hex digits", i+1, k.SHA256)
		}
		if k.User == "" {
			return nil, fmt.Errorf("auth: API key %d has no user", i+1)
		}
		symbols, err := normalize(k.Symbols)
		if err != nil {
			return nil, fmt.Errorf("auth: API key %d: %w", i+1, err)
		}
		var h [sha256.Size]byte
		copy(h[:], sum)
		if _, dup := a.keys[h]; dup {
			return nil, fmt.Errorf("auth: API key %d is listed twice", i+1)
		}
		a.keys[h] = Identity{User: k.User, Symbols: symbols, Firehose: k.Firehose}
	}
	return a, nil
}

// Required reports whether clients must present a credential.
func (a *Authenticator) Required() bool {
	return len(a.methods) > 0 || len(a.keys) > 0
}

// Error is a refused credential. Its message is safe to show the client: it
// never repeats the credential.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func refuse(format string, args ...any) error {
	return &Error{Reason: fmt.Sprintf(format, args...)}
}

// Authenticate returns the identity of the client making r. Without a
// credential on a node that requires none, the client is anonymous. Any
// refusal is an *Error.
func (a *Authenticator) Authenticate(r *http.Request) (Identity, error) {
	cred := credential(r)
	switch {
	case cred == "" && !a.Required():
		return Identity{}, nil
	case cred == "":
		return Identity{}, refuse("a token or API key is required (Authorization: Bearer, or access_token=)")
	case strings.Count(cred, ".") == 2:
		return a.token(cred)
	}
	id, ok := a.keys[sha256.Sum256([]byte(cred))]
	if !ok {
		return Identity{}, refuse("unknown API key")
	}
	return id, nil
}

func credential(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, value, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(value)
		}
	}
	return r.URL.Query().Get("access_token")
}

// claims are the token claims a node reads.
type claims struct {
	jwt.RegisteredClaims
	Symbols  []string `json:"symbols,omitempty"`
	Firehose bool     `json:"firehose,omitempty"`
}

func (a *Authenticator) token(raw string) (Identity, error) {
	if len(a.methods) == 0 {
		return Identity{}, refuse("this node accepts no tokens, only API keys")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(a.methods),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(a.cfg.Now),
		jwt.WithLeeway(Leeway),
	}
	if a.cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(a.cfg.Issuer))
	}
	if a.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(a.cfg.Audience))
	}
	var c claims
	_, err := jwt.ParseWithClaims(raw, &c, a.key, opts...)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Identity{}, refuse("token expired")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return Identity{}, refuse("token signature is not valid for this node")
	case err != nil:
		return Identity{}, refuse("token refused: %v", err)
	case c.Subject == "":
		return Identity{}, refuse("token has no subject (sub)")
	}
	symbols, err := normalize(c.Symbols)
	if err != nil {
		return Identity{}, refuse("token claim symbols: %v", err)
	}
	return Identity{User: c.Subject, Symbols: symbols, Firehose: c.Firehose, Expires: c.ExpiresAt.Time}, nil
}

func (a *Authenticator) key(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		return a.cfg.HS256Secret, nil
	case jwt.SigningMethodRS256.Alg():
		return a.cfg.RS256Key, nil
	}
	return nil, fmt.Errorf("signing method %s is not accepted", t.Method.Alg())
}

// normalize upper-cases an entitlement list. nil stays nil (any
// underlying); an empty list entitles to none.
func normalize(symbols []string) ([]string, error) {
	if symbols == nil {
		return nil, nil
	}
	out := make([]string, 0, len(symbols))
	for _, s := range symbols {
		u := strings.ToUpper(strings.TrimSpace(s))
		if u == "" || len(u) > 6 || strings.IndexFunc(u, notAlnum) >= 0 {
			return nil, fmt.Errorf("%q is not an underlying (1 to 6 letters or digits)", s)
		}
		out = append(out, u)
	}
	return out, nil
}

func notAlnum(r rune) bool {
	return (r < 'A' || r > 'Z') && (r < '0' || r > '9')
}

// ReadAPIKeys reads an API key file: {"keys":[{"sha256":"...","user":"..."}]}.
// Unknown fields are refused so that a typo does not widen an entitlement
// silently.
func ReadAPIKeys(r io.Reader) ([]APIKey, error) {
	var f struct {
		Keys []APIKey `json:"keys"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("auth: API key file: %w", err)
	}
	return f.Keys, nil
}

// ParseRSAPublicKey reads a PEM-encoded RSA public key (PKIX or PKCS #1).
func ParseRSAPublicKey(pem []byte) (*rsa.PublicKey, error) {
	k, err := jwt.ParseRSAPublicKeyFromPEM(pem)
	if err != nil {
		return nil, fmt.Errorf("auth: RS256 public key: %w", err)
	}
	return k, nil
}

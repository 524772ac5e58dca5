package auth

import (
	"fmt"
	"os"
)

// Files names the files that hold the credentials a service accepts, as its
// flags give them. The secrets themselves never pass through flags or the
// environment, where process listings and logs would show them.
type Files struct {
	HS256SecretFile    string // shared secret of HS256 tokens, at least 32 bytes
	RS256PublicKeyFile string // PEM of the RSA public key of RS256 tokens
	APIKeysFile        string // JSON list of API keys by SHA-256 (see ReadAPIKeys)
	Issuer             string // when set, tokens must carry this "iss"
	Audience           string // when set, tokens must list this "aud"
}

// Authenticator reads the files and returns an Authenticator for them. With
// none set, it accepts anonymous clients only. Errors name the flag of the
// file at fault (-jwt-hs256-secret-file, -jwt-rs256-public-key-file,
// -api-keys-file).
func (f Files) Authenticator() (*Authenticator, error) {
	var cfg Config
	cfg.Issuer, cfg.Audience = f.Issuer, f.Audience
	if f.HS256SecretFile != "" {
		secret, err := os.ReadFile(f.HS256SecretFile)
		if err != nil {
			return nil, fmt.Errorf("-jwt-hs256-secret-file: %w", err)
		}
		cfg.HS256Secret = trimNewline(secret)
	}
	if f.RS256PublicKeyFile != "" {
		pem, err := os.ReadFile(f.RS256PublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("-jwt-rs256-public-key-file: %w", err)
		}
		if cfg.RS256Key, err = ParseRSAPublicKey(pem); err != nil {
			return nil, fmt.Errorf("-jwt-rs256-public-key-file %s: %w", f.RS256PublicKeyFile, err)
		}
	}
	if f.APIKeysFile != "" {
		r, err := os.Open(f.APIKeysFile)
		if err != nil {
			return nil, fmt.Errorf("-api-keys-file: %w", err)
		}
		defer r.Close()
		if cfg.APIKeys, err = ReadAPIKeys(r); err != nil {
			return nil, fmt.Errorf("-api-keys-file %s: %w", f.APIKeysFile, err)
		}
	}
	a, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if !a.Required() && (f.Issuer != "" || f.Audience != "") {
		return nil, fmt.Errorf("-jwt-issuer and -jwt-audience need a token key (-jwt-hs256-secret-file or -jwt-rs256-public-key-file)")
	}
	return a, nil
}

// trimNewline drops the line ending an editor or `echo` leaves at the end of
// a secret file, which is not meant to be part of the secret.
func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

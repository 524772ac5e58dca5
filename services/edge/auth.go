package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/liveflow/liveflow/services/edge/internal/auth"
)

// authFlags name the files that hold the credentials an edge accepts. The
// secrets themselves never pass through flags or the environment, where
// process listings and logs would show them.
type authFlags struct {
	hs256SecretFile string
	rs256KeyFile    string
	apiKeysFile     string
	issuer          string
	audience        string
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.hs256SecretFile, "jwt-hs256-secret-file", "", "file holding the shared secret of HS256 tokens (at least 32 bytes)")
	fs.StringVar(&a.rs256KeyFile, "jwt-rs256-public-key-file", "", "PEM file of the RSA public key that verifies RS256 tokens")
	fs.StringVar(&a.apiKeysFile, "api-keys-file", "", `JSON file of API keys: {"keys":[{"sha256":"<hex of the key>","user":"...","symbols":[...],"firehose":false}]}`)
	fs.StringVar(&a.issuer, "jwt-issuer", "", "when set, tokens must carry this iss claim")
	fs.StringVar(&a.audience, "jwt-audience", "", "when set, tokens must list this aud claim")
}

// authenticator reads the files. With none of them set, clients connect
// anonymously.
func (a *authFlags) authenticator() (*auth.Authenticator, error) {
	var cfg auth.Config
	cfg.Issuer, cfg.Audience = a.issuer, a.audience
	if a.hs256SecretFile != "" {
		secret, err := os.ReadFile(a.hs256SecretFile)
		if err != nil {
			return nil, fmt.Errorf("-jwt-hs256-secret-file: %w", err)
		}
		cfg.HS256Secret = trimNewline(secret)
	}
	if a.rs256KeyFile != "" {
		pem, err := os.ReadFile(a.rs256KeyFile)
		if err != nil {
			return nil, fmt.Errorf("-jwt-rs256-public-key-file: %w", err)
		}
		if cfg.RS256Key, err = auth.ParseRSAPublicKey(pem); err != nil {
			return nil, fmt.Errorf("-jwt-rs256-public-key-file %s: %w", a.rs256KeyFile, err)
		}
	}
	if a.apiKeysFile != "" {
		f, err := os.Open(a.apiKeysFile)
		if err != nil {
			return nil, fmt.Errorf("-api-keys-file: %w", err)
		}
		defer f.Close()
		if cfg.APIKeys, err = auth.ReadAPIKeys(f); err != nil {
			return nil, fmt.Errorf("-api-keys-file %s: %w", a.apiKeysFile, err)
		}
	}
	authn, err := auth.New(cfg)
	if err != nil {
		return nil, err
	}
	if !authn.Required() && (a.issuer != "" || a.audience != "") {
		return nil, fmt.Errorf("-jwt-issuer and -jwt-audience need a token key (-jwt-hs256-secret-file or -jwt-rs256-public-key-file)")
	}
	return authn, nil
}

// trimNewline drops the line ending an editor or `echo` leaves at the end of
// a secret file, which is not meant to be part of the secret.
func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

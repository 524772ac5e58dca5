package main

import (
	"flag"

	"github.com/liveflow/liveflow/pkg/auth"
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
	return auth.Files{
		HS256SecretFile: a.hs256SecretFile, RS256PublicKeyFile: a.rs256KeyFile, APIKeysFile: a.apiKeysFile,
		Issuer: a.issuer, Audience: a.audience,
	}.Authenticator()
}

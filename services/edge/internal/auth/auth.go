// Package auth is the edge's name for pkg/auth, which decides who a client
// is when it connects.
//
// TODO: the edge's packages import pkg/auth directly once their files are
// next edited; until then these aliases keep them unchanged.
package auth

import "github.com/liveflow/liveflow/pkg/auth"

// Leeway is the clock skew allowed between the token issuer and the node.
const Leeway = auth.Leeway

type (
	// Identity is an authenticated client.
	Identity = auth.Identity
	// Config says which credentials a node accepts.
	Config = auth.Config
	// APIKey is one entry of the API key file.
	APIKey = auth.APIKey
	// Authenticator checks credentials.
	Authenticator = auth.Authenticator
	// Error is a refused credential.
	Error = auth.Error
)

var (
	// New checks a Config and returns an Authenticator.
	New = auth.New
	// ReadAPIKeys reads an API key file.
	ReadAPIKeys = auth.ReadAPIKeys
	// ParseRSAPublicKey reads a PEM-encoded RSA public key.
	ParseRSAPublicKey = auth.ParseRSAPublicKey
)

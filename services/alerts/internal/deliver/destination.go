package deliver

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Destination types: the format of the request an alert becomes.
const (
	Webhook = "webhook" // JSON of the rule and the event, signed with HMAC-SHA256
	Slack   = "slack"   // a Slack incoming webhook message
	Discord = "discord" // a Discord webhook message with an embed
)

// Types lists the destination types.
var Types = []string{Webhook, Slack, Discord}

// Limits of a destination, so a stored rule stays small.
const (
	maxURL       = 2048
	minSecret    = 32
	maxSecret    = 256
	SecretLength = 32 // random bytes of a generated webhook secret
)

// Destination is where a rule's alerts go.
type Destination struct {
	Type string `json:"type"`
	URL  string `json:"url"`
	// Secret is the HMAC key that signs webhook requests; Slack and Discord
	// URLs carry their own secret and take none.
	Secret string `json:"secret,omitempty"`
}

// Check reports what is wrong with d, in words meant for the rule's owner.
// It does not resolve the host: whether an address may be dialled is
// decided when delivering, since DNS answers change.
func (d Destination) Check() error {
	if !slices.Contains(Types, d.Type) {
		return fmt.Errorf("destination.type %q is not one of %q", d.Type, Types)
	}
	if len(d.URL) > maxURL {
		return fmt.Errorf("destination.url has %d bytes, at most %d allowed", len(d.URL), maxURL)
	}
	u, err := url.Parse(d.URL)
	switch {
	case err != nil:
		return fmt.Errorf("destination.url: %v", err)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("destination.url %q: want an http or https URL", d.URL)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("destination.url %q has no host", d.URL)
	case u.Fragment != "":
		return fmt.Errorf("destination.url %q has a fragment, which a request does not send", d.URL)
	}
	switch {
	case d.Type != Webhook && d.Secret != "":
		return fmt.Errorf("destination.secret: a %s URL carries its own secret; only webhooks take one", d.Type)
	case d.Type == Webhook && (len(d.Secret) < minSecret || len(d.Secret) > maxSecret):
		return fmt.Errorf("destination.secret has %d bytes: want %d to %d", len(d.Secret), minSecret, maxSecret)
	}
	return nil
}

// key names the destination for its queue, rate limit and circuit breaker:
// two rules posting to the same URL share them.
func (d Destination) key() string { return d.Type + " " + d.URL }

// redact shortens a destination key for logs: Slack and Discord URLs, and
// often webhook URLs, carry a secret in their path or query.
func redact(key string) string {
	typ, raw, _ := strings.Cut(key, " ")
	u, err := url.Parse(raw)
	if err != nil {
		return typ
	}
	return typ + " " + u.Scheme + "://" + u.Host + "/…"
}

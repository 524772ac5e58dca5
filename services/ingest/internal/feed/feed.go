// Package feed holds the ingest service's feed adapters: sources of ticks.
package feed

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/liveflow/liveflow/pkg/tick"
)

// Sink receives what a source reads.
type Sink interface {
	// Tick hands over one tick. seq is the upstream's sequence number of
	// the tick among those of its symbol and type, or 0 when the upstream
	// numbers nothing; a sink uses it to recognise a tick delivered twice.
	// Tick may block to apply backpressure; it must not keep t after
	// returning.
	Tick(ctx context.Context, t *tick.Tick, seq int64) error
	// Reject reports input the source could not turn into a tick; reason is
	// a short label for metrics, err says what and where.
	Reject(reason string, err error)
}

// Up tells sink that its source reached the upstream and is streaming, when
// the sink wants to know (it has an Up method). A source that connects
// somewhere calls it once per Run, as soon as the connection is usable, so
// that a supervisor can tell a working connection from a failing one even
// before any tick arrives.
func Up(sink Sink) {
	if u, ok := sink.(interface{ Up() }); ok {
		u.Up()
	}
}

// Source is a feed adapter. Run reads until the feed ends (nil), ctx ends
// (ctx.Err()) or the upstream fails (any other error). Run may be called again
// after an error and continues where it stopped where the source can.
type Source interface {
	Name() string
	Run(ctx context.Context, sink Sink) error
}

// The kinds of feed a Spec names.
const (
	KindSynthetic = "synthetic"
	KindFile      = "file"
	KindPolygon   = "polygon"
)

// Spec is a parsed feed setting: "synthetic", "file:PATH" or "polygon:URL".
type Spec struct {
	Kind string // KindSynthetic, KindFile or KindPolygon
	Path string // the tape of a file feed
	URL  string // the WebSocket endpoint of a polygon feed (ws or wss)
}

// ParseSpec reads a feed setting.
func ParseSpec(s string) (Spec, error) {
	kind, rest, _ := strings.Cut(s, ":")
	switch {
	case s == KindSynthetic:
		return Spec{Kind: KindSynthetic}, nil
	case kind == KindFile && rest != "":
		return Spec{Kind: KindFile, Path: rest}, nil
	case kind == KindPolygon:
		u, err := url.Parse(rest)
		if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			return Spec{}, fmt.Errorf("feed %s: want polygon:ws://HOST/PATH or polygon:wss://HOST/PATH",
				strconv.Quote(s))
		}
		// The key goes in LIVEFLOW_VENDOR_KEY or its file, never in the
		// address, which is logged and published.
		if u.User != nil || u.RawQuery != "" {
			return Spec{}, fmt.Errorf("feed %s: the address must carry no user or query; "+
				"give the key through LIVEFLOW_VENDOR_KEY or -vendor-key-file", strconv.Quote(Redact(s)))
		}
		return Spec{Kind: KindPolygon, URL: rest}, nil
	}
	return Spec{}, fmt.Errorf("feed %s: want synthetic, file:PATH or polygon:URL", strconv.Quote(Redact(s)))
}

// Redact returns s with the user information and query of an address in it
// replaced, so that a setting holding a credential by mistake can be quoted
// in an error.
func Redact(s string) string {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	u, err := url.Parse(rest)
	if err != nil || (u.User == nil && u.RawQuery == "") {
		if strings.ContainsAny(rest, "@?") {
			return kind + ":[redacted]"
		}
		return s
	}
	if u.User != nil {
		u.User = url.User("redacted")
	}
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	return kind + ":" + u.String()
}

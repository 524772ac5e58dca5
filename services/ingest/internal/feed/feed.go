// Package feed holds the ingest service's feed adapters: sources of ticks.
package feed

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/liveflow/liveflow/pkg/tick"
)

// Sink receives what a source reads. Tick may block to apply backpressure;
// it must not keep t after returning.
type Sink interface {
	Tick(ctx context.Context, t *tick.Tick) error
	// Reject reports input the source could not turn into a tick; reason is
	// a short label for metrics, err says what and where.
	Reject(reason string, err error)
}

// Source is a feed adapter. Run reads until the feed ends (nil), ctx ends
// (ctx.Err()) or the upstream fails (any other error). Run may be called again
// after an error and continues where it stopped where the source can.
type Source interface {
	Name() string
	Run(ctx context.Context, sink Sink) error
}

// Spec is a parsed feed setting: "synthetic" or "file:PATH".
type Spec struct {
	Kind string // "synthetic" or "file"
	Path string // for file
}

// ParseSpec reads a feed setting.
func ParseSpec(s string) (Spec, error) {
	switch {
	case s == "synthetic":
		return Spec{Kind: "synthetic"}, nil
	case strings.HasPrefix(s, "file:") && len(s) > len("file:"):
		return Spec{Kind: "file", Path: s[len("file:"):]}, nil
	}
	return Spec{}, fmt.Errorf("feed %s: want synthetic or file:PATH", strconv.Quote(s))
}

package oi

import (
	"context"
	"fmt"
	"time"

	"github.com/liveflow/liveflow/services/ingest/internal/market"
)

// At is a time of day, New York time.
type At struct{ Hour, Minute int }

// ParseAt reads "HH:MM".
func ParseAt(s string) (At, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return At{}, fmt.Errorf("oi: reload time %q: want HH:MM", s)
	}
	return At{t.Hour(), t.Minute()}, nil
}

// Schedule runs load at once and then at At, New York time, every weekday,
// until ctx ends. A load that fails is tried again after a delay that
// doubles from 5 s to 5 min, until it succeeds or the next scheduled load is
// due. now and wait are the clock (wait returns ctx's error when it ends
// first); nil means the real one.
func Schedule(ctx context.Context, at At, now func() time.Time,
	wait func(context.Context, time.Duration) error, load func(context.Context) error) {
	if now == nil {
		now = time.Now
	}
	if wait == nil {
		wait = sleep
	}
	for {
		next := market.NextWeekdayAt(now(), at.Hour, at.Minute)
		backoff := 5 * time.Second
		for load(ctx) != nil && ctx.Err() == nil && next.Sub(now()) > backoff {
			if wait(ctx, backoff) != nil {
				return
			}
			backoff = min(2*backoff, 5*time.Minute)
		}
		if wait(ctx, next.Sub(now())) != nil {
			return
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

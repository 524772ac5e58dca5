package status

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultKey is the Redis hash the feed status is published to.
const DefaultKey = "liveflow:feed:status"

// Logger receives the publisher's notable events; the service wires it to zap.
type Logger interface {
	Infow(msg string, keysAndValues ...any)
	Warnw(msg string, keysAndValues ...any)
}

// Publisher follows a Board: it reports every change to OnChange and
// writes the status to a Redis hash on every change and every TTL/3, with
// a TTL, so that a dead ingest reads as a missing key (status unknown)
// rather than as a stale "ok". The hash's fields:
//
//	state    ok | degraded
//	reason   the most severe condition ("" when ok): auth_failed,
//	         breaker_open, feed_down, stalled, failover, sequence_gap
//	detail   every condition in words
//	since    when state last changed, RFC 3339 UTC with milliseconds
//	feed     the feed ticks come from (an address never holds a key)
//	updated  when this write happened, same format
type Publisher struct {
	Board *Board
	Redis redis.UniversalClient // nil: no Redis, OnChange only
	Key   string                // default DefaultKey
	TTL   time.Duration         // default 15 s
	Log   Logger
	// OnChange is called from Run's goroutine with each new snapshot, in
	// order; the service logs it and sets its gauge.
	OnChange func(Snapshot)
	// OnError is called for every failed write.
	OnError func(error)
}

// timeFormat is RFC 3339 in UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// Run publishes until ctx ends, then deletes the key (a stopped ingest
// reports no status) and returns nil. A Redis that fails is retried at the
// next change or refresh; the first failure of a streak and the recovery
// are logged.
func (p *Publisher) Run(ctx context.Context) error {
	if p.Key == "" {
		p.Key = DefaultKey
	}
	if p.TTL <= 0 {
		p.TTL = 15 * time.Second
	}
	refresh := p.TTL / 3
	var last Snapshot
	var lastWrite time.Time
	failing := false
	timer := time.NewTimer(0)
	defer timer.Stop()
	for first := true; ; first = false {
		snap, next := p.Board.Snapshot()
		changed := first || snap != last
		if changed && p.OnChange != nil {
			p.OnChange(snap)
		}
		last = snap
		if p.Redis != nil && (changed || time.Since(lastWrite) >= refresh) {
			lastWrite = time.Now()
			failing = p.report(p.write(ctx, snap, lastWrite), failing)
		}

		wait := refresh
		if !next.IsZero() {
			wait = max(min(wait, time.Until(next)), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			p.remove(ctx)
			return nil
		case <-p.Board.Changed():
		case <-timer.C:
		}
	}
}

func (p *Publisher) write(ctx context.Context, s Snapshot, now time.Time) error {
	wctx, cancel := context.WithTimeout(ctx, p.TTL/3)
	defer cancel()
	_, err := p.Redis.TxPipelined(wctx, func(pipe redis.Pipeliner) error {
		pipe.HSet(wctx, p.Key, "state", s.State, "reason", s.Reason, "detail", s.Detail,
			"since", s.Since.UTC().Format(timeFormat), "feed", s.Feed,
			"updated", now.UTC().Format(timeFormat))
		pipe.PExpire(wctx, p.Key, p.TTL)
		return nil
	})
	return err
}

// report logs the first failure of a streak and the recovery, and returns
// whether writes are failing.
func (p *Publisher) report(err error, failing bool) bool {
	switch {
	case err != nil && errors.Is(err, context.Canceled):
		return failing
	case err != nil:
		if p.OnError != nil {
			p.OnError(err)
		}
		if !failing && p.Log != nil {
			p.Log.Warnw("cannot publish the feed status to Redis; retrying (is -redis-addr right?)",
				"key", p.Key, "err", err)
		}
		return true
	case failing && p.Log != nil:
		p.Log.Infow("feed status published to Redis again", "key", p.Key)
	}
	return false
}

func (p *Publisher) remove(ctx context.Context) {
	if p.Redis == nil {
		return
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := p.Redis.Del(dctx, p.Key).Err(); err != nil && p.Log != nil {
		p.Log.Warnw("could not remove the feed status from Redis at shutdown; it expires by itself",
			"key", p.Key, "err", err)
	}
}

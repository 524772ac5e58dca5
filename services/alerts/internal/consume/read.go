package consume

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
	"github.com/liveflow/liveflow/services/alerts/internal/rules"
)

// readShard reads new entries of one shard stream until ctx ends: first
// those this consumer name was handed before and never acknowledged (a
// restart under the same name), then new ones.
func (c *Consumer) readShard(ctx, bg context.Context, shard int) {
	key := stream.Key(shard)
	for !c.createGroup(ctx, shard, "$") {
		if !sleep(ctx, time.Second) {
			return
		}
	}
	from := "0" // own pending entries first
	for ctx.Err() == nil {
		held := c.reserve(ctx, c.cfg.Batch)
		if held == 0 {
			return
		}
		res, err := c.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: c.cfg.Group, Consumer: c.cfg.Name, Streams: []string{key, from},
			Count: int64(held), Block: c.cfg.Block,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			c.release(held)
			if ctx.Err() != nil {
				return
			}
			if isNoGroup(err) {
				// The stream expired and was created anew: everything
				// in it is new to the group.
				c.createGroup(ctx, shard, "0")
				continue
			}
			c.redisFailed("read", err, "stream", key)
			sleep(ctx, time.Second)
			continue
		}
		c.redisOK("read")
		var msgs []redis.XMessage
		if len(res) > 0 {
			msgs = res[0].Messages
		}
		if from == "0" {
			if len(msgs) == 0 {
				from = ">"
				c.release(held)
				continue
			}
			// Handed out before: they may have been delivered in part.
			counts := c.deliveries(bg, shard, msgs)
			used := c.process(bg, shard, msgs, counts)
			c.release(held - used)
			from = msgs[len(msgs)-1].ID
			continue
		}
		c.m.Entries.WithLabelValues("read").Add(float64(len(msgs)))
		used := c.process(bg, shard, msgs, nil)
		c.release(held - used)
	}
}

// createGroup makes the consumer group on a shard stream (and the stream,
// when it does not exist), starting after id; an existing group is kept.
func (c *Consumer) createGroup(ctx context.Context, shard int, id string) bool {
	err := c.rdb.XGroupCreateMkStream(ctx, stream.Key(shard), c.cfg.Group, id).Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		if ctx.Err() == nil {
			c.redisFailed("create_group", err, "stream", stream.Key(shard))
		}
		return false
	}
	c.redisOK("create_group")
	return true
}

func isNoGroup(err error) bool { return strings.HasPrefix(err.Error(), "NOGROUP") }

// process handles entries read or claimed from one shard and acknowledges
// at once those that need no delivery. counts holds delivery counts for
// entries handed out before (nil for new ones). It returns how many entries
// went in flight, each holding one of the tokens the caller reserved.
func (c *Consumer) process(bg context.Context, shard int, msgs []redis.XMessage, counts map[string]int64) int {
	var done []string
	used := 0
	for _, msg := range msgs {
		switch c.handle(bg, shard, msg, counts) {
		case handled:
			done = append(done, msg.ID)
		case inFlight:
			used++
		}
	}
	if len(done) > 0 {
		c.ackIDs(bg, shard, done)
	}
	return used
}

type disposition int

const (
	handled  disposition = iota // nothing to deliver, or dead-lettered: acknowledge
	inFlight                    // alerts were handed to the dispatcher
	skipped                     // already in flight here, or left pending
)

// handle decides what becomes of one entry. Entries that cannot be used are
// dead-lettered with the reason.
func (c *Consumer) handle(bg context.Context, shard int, msg redis.XMessage, counts map[string]int64) disposition {
	k := entryKey{shard, msg.ID}
	if counts != nil && c.isTracked(k) {
		return skipped // an entry of ours that went idle; it is being delivered
	}
	e, err := decodeEntry(shard, msg)
	if errors.Is(err, errTrimmed) {
		return c.deadLetterEntry(bg, k, e, reasonTrimmed, err)
	}
	if n := counts[msg.ID]; n > c.cfg.MaxDeliveries {
		return c.deadLetterEntry(bg, k, e, reasonPoison,
			fmt.Errorf("handed out %d times without being acknowledged", n))
	}
	if err != nil {
		return c.deadLetterEntry(bg, k, e, reasonUndecodable, err)
	}
	matched := c.rules.Current().Match(&e.attrs, nil)
	for _, r := range matched {
		c.m.Matched.WithLabelValues(r.Destination.Type).Inc()
	}
	if counts != nil && len(matched) > 0 {
		matched = c.notServed(bg, k, matched)
	}
	if len(matched) == 0 {
		return handled
	}
	p := &pending{key: k, e: e, marks: len(matched) > 1 || counts != nil}
	p.remaining.Store(int32(len(matched)))
	if !c.track(p) {
		return skipped
	}
	for _, r := range matched {
		a := &deliver.Alert{
			RuleID: r.ID, RuleName: r.Name, EventID: e.eventID, Event: &e.ev, JSON: e.json,
			Dest: r.Destination, Written: e.written,
		}
		c.disp.Submit(a, func(res deliver.Result) { c.finished(bg, p, r, res) })
	}
	return inFlight
}

// notServed drops the rules an earlier delivery of the entry recorded as
// served.
func (c *Consumer) notServed(bg context.Context, k entryKey, matched []*rules.Compiled) []*rules.Compiled {
	served, err := c.rdb.SMembers(bg, c.doneKey(k)).Result()
	if err != nil {
		// Without the record every rule is served again; receivers drop
		// the repeats by their idempotency key.
		c.redisFailed("served", err)
		return matched
	}
	out := matched[:0]
	for _, r := range matched {
		if !slices.Contains(served, r.ID) {
			out = append(out, r)
		}
	}
	return out
}

// finished records the end of one alert of p; the last one completes p.
// It runs on a dispatcher goroutine.
func (c *Consumer) finished(bg context.Context, p *pending, r *rules.Compiled, res deliver.Result) {
	switch res.Outcome {
	case deliver.Delivered:
		if p.marks {
			c.markServed(bg, p.key, r.ID)
		}
	case deliver.Failed:
		if !c.deadLetterAlert(bg, p, r, res) {
			p.abandoned.Store(true)
		}
	case deliver.Canceled:
		p.abandoned.Store(true)
	}
	if p.remaining.Add(-1) > 0 {
		return
	}
	if p.abandoned.Load() || p.lost.Load() {
		// Left pending: whoever takes the entry over delivers what is
		// missing (a lost one is someone else's now).
		c.untrack(p)
		return
	}
	p.acking.Store(true)
	c.acks <- p
}

func (c *Consumer) markServed(bg context.Context, k entryKey, rule string) {
	key := c.doneKey(k)
	_, err := c.rdb.TxPipelined(bg, func(pl redis.Pipeliner) error {
		pl.SAdd(bg, key, rule)
		pl.Expire(bg, key, doneTTL)
		return nil
	})
	if err != nil {
		c.redisFailed("mark_served", err)
	}
}

// sleep waits for d or the end of ctx, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

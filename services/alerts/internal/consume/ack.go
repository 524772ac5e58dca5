package consume

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
	"github.com/liveflow/liveflow/services/alerts/internal/rules"
)

// Dead-letter reasons of whole entries; alerts given up carry the reason of
// their delivery (see the deliver package).
const (
	reasonUndecodable = "undecodable" // the entry is not an event
	reasonTrimmed     = "trimmed"     // the stream lost the entry while it was pending
	reasonPoison      = "poison"      // handed out MaxDeliveries times without an acknowledgement
)

// ackIDs acknowledges entries of one shard that need nothing more. A failure
// leaves them pending; they are handled again after a takeover, which is
// harmless for entries that needed no delivery.
func (c *Consumer) ackIDs(bg context.Context, shard int, ids []string) {
	if err := c.rdb.XAck(bg, stream.Key(shard), c.cfg.Group, ids...).Err(); err != nil {
		c.redisFailed("ack", err)
		return
	}
	c.redisOK("ack")
}

// ackLoop acknowledges completed entries in batches until acks is closed,
// retrying a failed batch until bg ends. Each entry's record of served rules
// goes with it.
func (c *Consumer) ackLoop(bg context.Context) {
	for p := range c.acks {
		batch := []*pending{p}
	more:
		for len(batch) < 512 {
			select {
			case q, ok := <-c.acks:
				if !ok {
					break more
				}
				batch = append(batch, q)
			default:
				break more
			}
		}
		for !c.ackBatch(bg, batch) && sleep(bg, 100*time.Millisecond) {
		}
		for _, q := range batch {
			c.untrack(q)
		}
	}
}

func (c *Consumer) ackBatch(bg context.Context, batch []*pending) bool {
	byShard := map[int][]string{}
	_, err := c.rdb.Pipelined(bg, func(pl redis.Pipeliner) error {
		for _, p := range batch {
			byShard[p.key.shard] = append(byShard[p.key.shard], p.key.id)
			if p.marks {
				pl.Del(bg, c.doneKey(p.key))
			}
		}
		for shard, ids := range byShard {
			pl.XAck(bg, stream.Key(shard), c.cfg.Group, ids...)
		}
		return nil
	})
	if err != nil {
		c.redisFailed("ack", err)
		return false
	}
	c.redisOK("ack")
	return true
}

// deadLetter appends one record to the dead-letter stream. fields come in
// name, value pairs.
//
// TODO: nothing replays dead letters yet; an operator who fixed the cause
// re-adds the "event" field to its stream by hand (docs/alerts.md).
func (c *Consumer) deadLetter(bg context.Context, reason string, err error, k entryKey, e *entry, fields ...any) bool {
	values := []any{
		"reason", reason, "error", err.Error(),
		"stream", stream.Key(k.shard), "entry", k.id, "event_id", strconv.Itoa(k.shard) + "-" + k.id,
		"group", c.cfg.Group, "consumer", c.cfg.Name, "ts", time.Now().UTC().Format(time.RFC3339Nano),
	}
	if e != nil {
		values = append(values, "underlying", e.underlying, "event", e.stored)
	}
	values = append(values, fields...)
	werr := c.rdb.XAdd(bg, &redis.XAddArgs{
		Stream: c.cfg.DeadLetter, MaxLen: c.cfg.DeadLetterMaxLen, Approx: true, Values: values,
	}).Err()
	if werr != nil {
		c.redisFailed("dead_letter", werr)
		return false
	}
	c.redisOK("dead_letter")
	c.m.DeadLettered.WithLabelValues(reason).Inc()
	return true
}

// deadLetterEntry gives up a whole entry: handled when the record is
// written, so the entry is acknowledged; skipped (left pending) otherwise.
func (c *Consumer) deadLetterEntry(bg context.Context, k entryKey, e *entry, reason string, err error) disposition {
	c.log.Warnw("entry dead-lettered", "reason", reason, "stream", stream.Key(k.shard), "entry", k.id, "error", err)
	if c.deadLetter(bg, reason, err, k, e) {
		return handled
	}
	return skipped
}

// deadLetterAlert records an alert given up, with its rule and attempts.
func (c *Consumer) deadLetterAlert(bg context.Context, p *pending, r *rules.Compiled, res deliver.Result) bool {
	c.log.Warnw("alert dead-lettered", "reason", res.Reason, "rule", r.ID, "event", p.e.eventID,
		"attempts", res.Attempts, "error", res.Err)
	return c.deadLetter(bg, res.Reason, res.Err, p.key, p.e,
		"rule", r.ID, "owner", r.Owner, "type", r.Destination.Type, "attempts", res.Attempts)
}

// deliveries returns how often each of msgs was handed out, from the
// group's pending list; entries it cannot tell are missing from the map.
func (c *Consumer) deliveries(bg context.Context, shard int, msgs []redis.XMessage) map[string]int64 {
	counts := make(map[string]int64, len(msgs))
	if len(msgs) == 0 {
		return counts
	}
	pend, err := c.rdb.XPendingExt(bg, &redis.XPendingExtArgs{
		Stream: stream.Key(shard), Group: c.cfg.Group, Consumer: c.cfg.Name,
		Start: msgs[0].ID, End: msgs[len(msgs)-1].ID, Count: int64(len(msgs) + c.cfg.MaxInFlight),
	}).Result()
	if err != nil {
		c.redisFailed("pending", err)
		return counts
	}
	for _, p := range pend {
		counts[p.ID] = p.RetryCount
	}
	return counts
}

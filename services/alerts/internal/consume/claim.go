package consume

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
)

// claimLoop takes over, every ClaimIdle/2, the entries of any consumer that
// left them idle for ClaimIdle: a dead or stuck instance's work. Every
// ForgetAfter/4 it also removes consumers gone for good from the group.
func (c *Consumer) claimLoop(ctx, bg context.Context) {
	every := min(max(c.cfg.ClaimIdle/2, 10*time.Millisecond), 5*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var forgot time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for shard := range c.cfg.Shards {
			if !c.claimShard(ctx, bg, shard) {
				return
			}
		}
		if time.Since(forgot) >= c.cfg.ForgetAfter/4 {
			forgot = time.Now()
			for shard := range c.cfg.Shards {
				c.forget(ctx, shard)
			}
		}
	}
}

// forgetScript removes from a group the consumers, other than the caller,
// that hold no pending entry and were idle at least a given time; every
// restart of an instance otherwise leaves one behind per shard. Checking and
// removing in one script means no entry can be handed to a consumer between
// the two. KEYS[1] stream; ARGV group, minimum idle ms, own name.
var forgetScript = redis.NewScript(`
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
	local f = {}
	for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
	if f['name'] ~= ARGV[3] and f['pending'] == 0 and f['idle'] >= tonumber(ARGV[2]) then
		redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
		removed = removed + 1
	end
end
return removed
`)

func (c *Consumer) forget(ctx context.Context, shard int) {
	n, err := forgetScript.Run(ctx, c.rdb, []string{stream.Key(shard)},
		c.cfg.Group, c.cfg.ForgetAfter.Milliseconds(), c.cfg.Name).Int()
	if err != nil {
		if ctx.Err() == nil && !isNoGroup(err) {
			c.redisFailed("forget", err)
		}
		return
	}
	c.redisOK("forget")
	if n > 0 {
		c.log.Infow("removed consumers gone for good from the group", "stream", stream.Key(shard), "consumers", n)
	}
}

// claimShard claims the idle entries of one shard, a batch at a time; false
// when ctx ended.
func (c *Consumer) claimShard(ctx, bg context.Context, shard int) bool {
	key := stream.Key(shard)
	cursor := "0-0"
	for {
		held := c.reserve(ctx, c.cfg.Batch)
		if held == 0 {
			return false
		}
		msgs, next, deleted, err := c.rdb.XAutoClaimWithDeleted(ctx, &redis.XAutoClaimArgs{
			Stream: key, Group: c.cfg.Group, Consumer: c.cfg.Name,
			MinIdle: c.cfg.ClaimIdle, Start: cursor, Count: int64(held),
		}).Result()
		if err != nil {
			c.release(held)
			switch {
			case ctx.Err() != nil:
				return false
			case isNoGroup(err):
				// The reader of the shard makes the group again.
			default:
				c.redisFailed("claim", err, "stream", key)
			}
			return true
		}
		c.redisOK("claim")
		// Redis dropped these from the pending list: the stream no longer
		// holds them, so they can only be recorded as lost.
		for _, id := range deleted {
			c.deadLetter(bg, reasonTrimmed, errTrimmed, entryKey{shard, id}, nil)
		}
		used := 0
		if len(msgs) > 0 {
			c.m.Entries.WithLabelValues("claimed").Add(float64(len(msgs)))
			c.log.Infow("took over idle entries", "stream", key, "entries", len(msgs))
			used = c.process(bg, shard, msgs, c.deliveries(bg, shard, msgs))
		}
		c.release(held - used)
		if next == "0-0" || next == "" {
			return true
		}
		cursor = next
	}
}

// touchScript resets the idle time of the entries the consumer still owns,
// so that no other instance takes them over while it delivers them, and
// returns those it no longer owns. XCLAIM with JUSTID leaves the delivery
// count alone. KEYS[1] stream; ARGV group, consumer, then entry ids.
var touchScript = redis.NewScript(`
local lost = {}
for i = 3, #ARGV do
	local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
	if p[1] and p[1][2] == ARGV[2] then
		redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
	else
		lost[#lost + 1] = ARGV[i]
	end
end
return lost
`)

// touchLoop touches the entries in flight every ClaimIdle/3 until bg ends.
func (c *Consumer) touchLoop(bg context.Context) {
	every := max(c.cfg.ClaimIdle/3, 5*time.Millisecond)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-bg.Done():
			return
		case <-tick.C:
		}
		byShard := map[int][]*pending{}
		c.mu.Lock()
		for k, p := range c.inflight {
			byShard[k.shard] = append(byShard[k.shard], p)
		}
		c.mu.Unlock()
		for shard, ps := range byShard {
			for len(ps) > 0 {
				n := min(len(ps), 500)
				c.touch(bg, shard, ps[:n])
				ps = ps[n:]
			}
		}
	}
}

func (c *Consumer) touch(bg context.Context, shard int, ps []*pending) {
	args := make([]any, 0, len(ps)+2)
	args = append(args, c.cfg.Group, c.cfg.Name)
	byID := make(map[string]*pending, len(ps))
	for _, p := range ps {
		args = append(args, p.key.id)
		byID[p.key.id] = p
	}
	lost, err := touchScript.Run(bg, c.rdb, []string{stream.Key(shard)}, args...).StringSlice()
	if err != nil {
		if bg.Err() == nil {
			c.redisFailed("touch", err)
		}
		return
	}
	c.redisOK("touch")
	for _, id := range lost {
		p := byID[id]
		// An entry being acknowledged left the pending list by our hand.
		if p == nil || p.acking.Load() || p.lost.Swap(true) {
			continue
		}
		c.m.Lost.Inc()
		c.log.Warnw("another instance took over an entry this one is delivering; its alerts may repeat "+
			"(raise -claim-idle if instances pause longer than it)", "stream", stream.Key(shard), "entry", id)
	}
}

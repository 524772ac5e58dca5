package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
)

// blockFor bounds one XREAD BLOCK so a reader notices Close promptly even
// when the connection ignores the context.
const blockFor = 2 * time.Second

// read follows one shard stream, in the hub's fan-out mode, until the hub
// closes or no subscription needs the shard.
func (h *Hub) read(shard int, r *reader) {
	if h.fanout == FanoutPubSub {
		h.readPubSub(shard, r)
		return
	}
	h.readXRead(shard, r)
}

// readXRead follows one shard stream with XREAD BLOCK. It finds the current
// end of the stream first, then signals r.ready, and always reads after a
// concrete entry id: re-reading with "$" after a timeout would skip entries
// written in between.
func (h *Hub) readXRead(shard int, r *reader) {
	key := stream.Key(shard)
	last := h.tail(key)
	h.start(r, last)
	backoff := 50 * time.Millisecond
	touched := make(map[Subscriber]struct{})
	for h.ctx.Err() == nil {
		if h.idle(shard, r) {
			return
		}
		res, err := h.rdb.XRead(h.ctx, &redis.XReadArgs{
			Streams: []string{key, last}, Count: 1000, Block: blockFor,
		}).Result()
		if errors.Is(err, redis.Nil) {
			h.health.report(shard, nil)
			continue // nothing new within blockFor
		}
		if err != nil {
			if h.ctx.Err() != nil {
				return
			}
			h.health.report(shard, err)
			h.metrics.RedisErrors.Inc()
			h.log.Warnw("reading shard stream failed; retrying", "stream", key, "err", err)
			h.sleep(backoff)
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		h.health.report(shard, nil)
		for _, s := range res {
			for _, m := range s.Messages {
				last = m.ID
				u, e := fields(m)
				h.route(r, shard, m.ID, u, e, touched)
			}
		}
		h.flush(touched)
	}
}

// start records where a new reader begins, the entry id tail, as its
// position and signals r.ready to the Adds waiting for it.
func (h *Hub) start(r *reader, tail string) {
	r.tail = tail
	h.mu.Lock()
	r.pos = tail
	h.mu.Unlock()
	close(r.ready)
}

// flush calls Flush once on each subscriber that was sent events and empties
// touched: what one read brought leaves in one frame rather than a frame per
// event.
func (h *Hub) flush(touched map[Subscriber]struct{}) {
	for s := range touched {
		s.Flush()
		delete(touched, s)
	}
}

// idle stops a reader no subscription needs: it leaves the readers map under
// the lock that Add takes, so a later Add starts a new reader rather than
// relying on one that is going away.
func (h *Hub) idle(shard int, r *reader) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perShard[shard] > 0 {
		return false
	}
	delete(h.perShard, shard)
	if h.readers[shard] == r {
		delete(h.readers, shard)
	}
	return true
}

// tail returns the id of the newest entry of a stream, or "0-0" for a stream
// that does not exist yet, retrying until Redis answers or the hub closes.
func (h *Hub) tail(key string) string {
	for h.ctx.Err() == nil {
		msgs, err := h.rdb.XRevRangeN(h.ctx, key, "+", "-", 1).Result()
		if err == nil {
			if len(msgs) == 0 {
				return "0-0"
			}
			return msgs[0].ID
		}
		h.metrics.RedisErrors.Inc()
		h.log.Warnw("cannot find the end of a shard stream; retrying", "stream", key, "err", err)
		h.sleep(time.Second)
	}
	return "0-0"
}

// route decodes an entry, given by its id and its "u" and "e" fields, once
// and hands it to the subscribers of its underlying. The event's id is the
// shard and the entry id, "<shard>-<ms>-<seq>", which orders events within a
// shard and will let a client resume after the last one it saw.
func (h *Hub) route(r *reader, shard int, id, u, e string, touched map[Subscriber]struct{}) {
	ev, err := h.decodeEntry(shard, id, u, e)
	if err != nil {
		h.dispatch(r, id, nil, touched) // still the reader's position
		return
	}
	h.metrics.Entries.Inc()
	now := time.Now().UnixNano()
	if ev.TS > 0 {
		h.metrics.Lag.Observe(float64(now-ev.TS) / 1e9)
	}
	if ev.IngestTS > 0 {
		h.metrics.Pipeline.Observe(float64(now-ev.IngestTS) / 1e9)
	}
	h.metrics.Deliveries.Add(float64(h.dispatch(r, id, ev, touched)))
}

// fields returns the "u" and "e" fields of a stream entry; a missing one
// reads as empty, which decode rejects.
func fields(m redis.XMessage) (u, e string) {
	u, _ = m.Values[stream.FieldUnderlying].(string)
	e, _ = m.Values[stream.FieldEvent].(string)
	return u, e
}

// decodeEntry decodes an entry, counting and logging one it must skip.
func (h *Hub) decodeEntry(shard int, id, u, e string) (*Event, error) {
	ev, err := decode(shard, id, u, e)
	if err != nil {
		h.metrics.BadEntries.Inc()
		h.log.Warnw("skipping malformed stream entry", "shard", shard, "id", id, "err", err)
	}
	return ev, err
}

// Before returns the events among the count entries of a shard stream at or
// before the entry id, newest first. Entries of an underlying keep refuses
// are skipped without being decoded (nil keeps all); malformed entries are
// skipped and counted.
func (h *Hub) Before(ctx context.Context, shard int, id string, count int, keep func(string) bool) ([]*Event, error) {
	msgs, err := h.rdb.XRevRangeN(ctx, stream.Key(shard), id, "-", int64(count)).Result()
	if err != nil {
		return nil, fmt.Errorf("hub: history of shard %d: %w", shard, err)
	}
	return h.decodeKept(shard, msgs, keep), nil
}

// decodeKept decodes the entries whose underlying keep accepts. Decoding is
// most of the cost of a history read, and a watchlist names a few of the
// underlyings that share a shard.
func (h *Hub) decodeKept(shard int, msgs []redis.XMessage, keep func(string) bool) []*Event {
	var out []*Event
	for _, m := range msgs {
		u, e := fields(m)
		if keep != nil && u != "" && !keep(u) {
			continue
		}
		if ev, err := h.decodeEntry(shard, m.ID, u, e); err == nil {
			out = append(out, ev)
		}
	}
	return out
}

func (h *Hub) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-h.ctx.Done():
	case <-t.C:
	}
}

// Range returns the events of a shard stream after the entry id after
// (exclusive) up to through (inclusive), oldest first, among at most limit
// entries, skipping entries of an underlying keep refuses as Before does. It
// reports whether that is everything after the id: false when the stream
// has been trimmed past it or holds limit entries or more in the range.
func (h *Hub) Range(ctx context.Context, shard int, after, through string, limit int,
	keep func(string) bool) ([]*Event, bool, error) {
	key := stream.Key(shard)
	complete, err := h.holdsAllAfter(ctx, key, after)
	if err != nil {
		return nil, false, fmt.Errorf("hub: history of shard %d: %w", shard, err)
	}
	var out []*Event
	from, read := "("+after, 0
	for read < limit {
		n := min(rangePage, limit-read)
		msgs, err := h.rdb.XRangeN(ctx, key, from, through, int64(n)).Result()
		if err != nil {
			return nil, false, fmt.Errorf("hub: history of shard %d: %w", shard, err)
		}
		read += len(msgs)
		out = append(out, h.decodeKept(shard, msgs, keep)...)
		if len(msgs) < n {
			return out, complete, nil
		}
		from = "(" + msgs[len(msgs)-1].ID
	}
	return out, false, nil // the limit was reached; more may follow
}

// holdsAllAfter reports whether a stream still holds every entry it was
// given after the id after. Its oldest entry at or before the id says so.
// When the oldest is newer, the stream either lost entries (trimmed) or
// began after the id, as the stream of a shard a client named no id for
// may have; Redis 7 counts the entries ever added, which tells the two
// apart. Trimming leaves no trace of where it stopped, so a trimmed stream
// whose oldest entry is newer than the id counts as incomplete, even when
// nothing after the id went. A stream that does not exist holds nothing to
// miss.
//
// TODO: a stream that expired (no write for its TTL) and was written again
// has lost nothing in Redis's count and reads as complete, though the
// events of the expired one are gone; Redis keeps nothing that would tell.
func (h *Hub) holdsAllAfter(ctx context.Context, key, after string) (bool, error) {
	if after == "0-0" {
		return true, nil
	}
	oldest, err := h.rdb.XRangeN(ctx, key, "-", "+", 1).Result()
	if err != nil {
		return false, err
	}
	if len(oldest) == 0 || CompareIDs(oldest[0].ID, after) <= 0 {
		return true, nil
	}
	info, err := h.rdb.XInfoStream(ctx, key).Result()
	if err != nil {
		return false, err
	}
	// Before Redis 7 EntriesAdded is missing (0): assume the worst.
	untouched := info.EntriesAdded == info.Length &&
		(info.MaxDeletedEntryID == "0-0" || info.MaxDeletedEntryID == "")
	return untouched, nil
}

// rangePage is how many entries Range asks Redis for at a time, so a long
// history comes in replies of a megabyte or two rather than one huge one.
const rangePage = 2000

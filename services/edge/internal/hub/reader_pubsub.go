package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
)

// Reasons for a catch-up read of a stream, the label values of
// Metrics.CatchUps.
const (
	reasonSubscribed  = "subscribed"  // a new subscription; what was published before it is lost
	reasonGap         = "gap"         // a notification did not follow the last routed entry
	reasonMalformed   = "malformed"   // a notification could not be parsed
	reasonUnannounced = "unannounced" // a quiet period's check found entries no notification brought
)

// catchUpPage bounds one XRANGE of a catch-up, and so what one flush covers.
const catchUpPage = 1000

// errNoPong means the subscription's connection answered no ping within
// blockFor: it is dead even if the socket does not say so.
var errNoPong = errors.New("no answer to a ping")

// readPubSub follows one shard by sharded Pub/Sub. Writers announce every
// append on the shard's channel with the new entries and the id of the entry
// before them (stream.Notification); the stream stays the record.
//
// The reader subscribes first and only then finds the end of the stream, so
// every later entry is announced to it. It routes the entries of a
// notification whose predecessor is the last entry it routed. It skips a
// notification whose entries it has routed already. Anything else means it
// missed a message: then, as after a new subscription or an unreadable
// message, it reads the stream after its last entry (XRANGE) before taking
// notifications again. So each entry is routed once, in stream order, and
// Add's positions stay exact because routing goes through dispatch as with
// XREAD.
//
// go-redis reconnects a PubSub on its own after a network error and sends
// SSUBSCRIBE again without reading the reply: messages published in between
// are lost without a trace, and a refused subscription goes unnoticed. The
// reader does not rely on it: on any error it closes the PubSub, builds a
// new one, waits for Redis to confirm it and catches up. A quiet blockFor
// sends a ping (no answer by the next one means a dead connection) and
// checks the stream for entries no notification brought, so scorers that do
// not notify delay events by blockFor at worst instead of losing them.
func (h *Hub) readPubSub(shard int, r *reader) {
	f := &follower{
		h: h, r: r, shard: shard, key: stream.Key(shard), channel: stream.Channel(shard),
		touched: make(map[Subscriber]struct{}),
	}
	defer func() {
		if !f.started {
			h.start(r, "0-0") // never leave an Add waiting on a reader that is gone
		}
	}()
	backoff := 50 * time.Millisecond
	for h.ctx.Err() == nil && !h.idle(shard, r) {
		subscribed, err := f.session()
		if err == nil || h.ctx.Err() != nil {
			return
		}
		h.health.report(shard, err)
		h.metrics.RedisErrors.Inc()
		if !subscribed {
			h.log.Warnw("cannot subscribe to a shard channel; retrying", "channel", f.channel, "err", err)
		} else {
			h.log.Warnw("following a shard channel failed; subscribing again", "channel", f.channel, "err", err)
			backoff = 50 * time.Millisecond
		}
		h.sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

// follower is the state of one pubsub reader, owned by its goroutine.
type follower struct {
	h            *Hub
	r            *reader
	shard        int
	key, channel string
	touched      map[Subscriber]struct{}
	started      bool   // the reader has found its start and signalled r.ready
	last         string // the id of the last entry routed, or the start
	unannounced  int    // quiet periods in a row that found entries
	warned       bool   // the warning about unannounced entries was logged
}

// session subscribes, catches up and routes notifications until an error,
// the hub's close or the reader's idleness; it returns nil for the last two.
// subscribed reports whether Redis confirmed the subscription.
func (f *follower) session() (subscribed bool, err error) {
	ps := f.h.rdb.SSubscribe(f.h.ctx, f.channel)
	// A blocked receive ignores the end of its context; closing the PubSub
	// ends it, so the hub's Close does not wait out blockFor.
	stop := context.AfterFunc(f.h.ctx, func() { ps.Close() })
	defer func() {
		stop()
		ps.Close()
	}()
	if err := f.confirm(ps); err != nil {
		return false, err
	}
	f.h.health.report(f.shard, nil)
	if !f.started {
		f.last = f.h.tail(f.key)
		f.h.start(f.r, f.last)
		f.started = true
	} else if err := f.catchUp(reasonSubscribed); err != nil {
		return true, err
	}
	return true, f.follow(ps)
}

// confirm waits for Redis to confirm the subscription; every message
// published after that reaches ps.
func (f *follower) confirm(ps *redis.PubSub) error {
	for {
		msg, err := ps.ReceiveTimeout(f.h.ctx, blockFor)
		if err != nil {
			return err
		}
		if s, ok := msg.(*redis.Subscription); ok {
			if s.Kind != "ssubscribe" || s.Channel != f.channel {
				return fmt.Errorf("subscribing got %q", s)
			}
			return nil
		}
	}
}

// follow routes notifications until an error, the hub's close or the
// reader's idleness, checking the connection and the stream whenever
// nothing arrives for blockFor.
func (f *follower) follow(ps *redis.PubSub) error {
	pinged := false
	for f.h.ctx.Err() == nil && !f.h.idle(f.shard, f.r) {
		msg, err := ps.ReceiveTimeout(f.h.ctx, blockFor)
		if isTimeout(err) {
			if pinged {
				return errNoPong
			}
			pinged = true
			if err := ps.Ping(f.h.ctx); err != nil {
				return err
			}
			if err := f.catchUp(reasonUnannounced); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Message:
			err = f.take(m.Payload)
		case *redis.Subscription:
			if m.Kind != "ssubscribe" {
				// Redis ends shard channel subscriptions when the slot moves.
				return fmt.Errorf("the server ended the subscription: %q", m)
			}
			// go-redis subscribed again on a new connection after an error
			// it kept to itself; what was published in between is lost.
			err = f.catchUp(reasonSubscribed)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// take routes the entries of a notification that follows the last routed
// entry, skips one whose entries are routed already, and for anything else
// catches up from the stream.
func (f *follower) take(payload string) error {
	n, err := stream.ParseNotification(payload)
	if err != nil {
		f.h.log.Warnw("unreadable shard notification; reading the stream instead", "channel", f.channel, "err", err)
		return f.catchUp(reasonMalformed)
	}
	newest := n.Entries[len(n.Entries)-1].ID
	switch {
	case n.Prev == f.last:
		for _, e := range n.Entries {
			f.h.route(f.r, f.shard, e.ID, e.Underlying, e.Event, f.touched)
		}
		f.last = newest
		f.unannounced = 0
		f.h.flush(f.touched)
		return nil
	case CompareIDs(newest, f.last) <= 0:
		return nil // read from the stream by a catch-up already
	default:
		return f.catchUp(reasonGap)
	}
}

// catchUp routes the stream's entries after the last routed one, a page at a
// time with one flush per page, up to the end of the stream. It counts the
// reason, except a quiet period's check that found nothing.
func (f *follower) catchUp(reason string) error {
	found := 0
	for {
		msgs, err := f.h.rdb.XRangeN(f.h.ctx, f.key, "("+f.last, "+", catchUpPage).Result()
		if err != nil {
			return fmt.Errorf("catch up on %s: %w", f.key, err)
		}
		for _, m := range msgs {
			u, e := fields(m)
			f.h.route(f.r, f.shard, m.ID, u, e, f.touched)
			f.last = m.ID
		}
		f.h.flush(f.touched)
		found += len(msgs)
		if len(msgs) < catchUpPage {
			break
		}
	}
	f.h.metrics.CatchUpEntries.Add(float64(found))
	if reason == reasonUnannounced {
		if found == 0 {
			return nil
		}
		f.warnUnannounced(found)
	}
	f.h.metrics.CatchUps.WithLabelValues(reason).Inc()
	return nil
}

// warnUnannounced logs, once per reader, when two quiet periods in a row
// found entries: one may be a notification still in flight, two mean the
// writers do not notify.
func (f *follower) warnUnannounced(found int) {
	if f.unannounced++; f.unannounced < 2 || f.warned {
		return
	}
	f.warned = true
	f.h.log.Warnw("shard stream entries come without notifications; run the scorers with "+
		"-stream-notify (LIVEFLOW_STREAM_NOTIFY) or the edges with -fanout xread",
		"stream", f.key, "entries", found)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

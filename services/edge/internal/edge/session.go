package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/liveflow/liveflow/pkg/auth"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

// session is one WebSocket client. The read loop owns subs; Send may be
// called from any goroutine.
type session struct {
	srv      *Server
	conn     *websocket.Conn
	identity auth.Identity
	requests *rate.Limiter // client frames; only the read loop uses it
	queue    *queue        // events waiting for the writer
	kick     chan struct{} // capacity 1: the writer has events to send

	slowOnce sync.Once
	slow     chan struct{} // closed when the client stayed behind too long

	// status is a status frame the writer sends before any further event;
	// the newest replaces one not sent yet.
	status atomic.Pointer[[]byte]

	// replying is held by the read loop while it handles a request and
	// writes the reply, and by the writer while it writes events, so the
	// first events of a subscription cannot overtake its "subscribed".
	replying sync.Mutex

	subs map[string]*subscription // by id; owned by the read loop

	// active is what Send tests events against: the subscriptions as a
	// list the read loop replaces whole whenever it changes them.
	active atomic.Pointer[[]*subscription]
}

func newSession(srv *Server, conn *websocket.Conn, id auth.Identity) *session {
	l := srv.limits
	return &session{
		srv:      srv,
		conn:     conn,
		identity: id,
		requests: rate.NewLimiter(rate.Limit(l.RequestRate), l.RequestBurst),
		queue:    newQueue(l.QueueLen, l.QueueBytes),
		kick:     make(chan struct{}, 1),
		slow:     make(chan struct{}),
		subs:     make(map[string]*subscription),
	}
}

// Send queues an event that any of the client's subscriptions wants, once
// however many want it, without blocking, and reports whether it did. When
// the client's queue is full, its oldest events are dropped and the client
// is told so; a client that stays behind longer than Limits.LagGrace is cut
// off with CloseSlowConsumer rather than slowing the node down.
func (s *session) Send(ev *hub.Event) bool {
	subs := s.active.Load()
	if subs == nil {
		return false
	}
	// The hub sends only events of underlyings some subscription names, so
	// a lone subscription need not look at the symbols again.
	if one := *subs; len(one) == 1 {
		if !one[0].wantsRouted(ev) {
			return false
		}
	} else if !slices.ContainsFunc(*subs, func(sub *subscription) bool { return sub.wants(ev) }) {
		return false
	}
	if behind := s.queue.push(ev); behind > s.srv.limits.LagGrace {
		s.slowOnce.Do(func() { close(s.slow); s.Flush() })
	}
	return true
}

// tell has the writer send a status frame ahead of further events.
func (s *session) tell(frame []byte) {
	s.status.Store(&frame)
	s.Flush()
}

// Flush wakes the writer for what Send queued.
func (s *session) Flush() {
	select {
	case s.kick <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// run serves the client until it leaves, misbehaves or ctx ends.
func (s *session) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		s.Flush() // the writer sees the end of ctx when it wakes
		// The read failed, so the connection is done with; dropping it
		// ends a write that is still blocked.
		s.conn.CloseNow()
		wg.Wait()
		for _, sub := range s.subs {
			s.srv.hub.Remove(s, sub.symbols)
		}
		clear(s.subs)
		s.publish()
	}()

	wg.Add(2)
	go func() { defer wg.Done(); s.write(ctx) }()
	go func() { defer wg.Done(); s.heartbeat(ctx) }()
	if exp := s.identity.Expires; !exp.IsZero() {
		t := time.AfterFunc(time.Until(exp.Add(auth.Leeway)), func() {
			s.srv.violation(s.conn, CloseUnauthorized, "token expired")
		})
		defer t.Stop()
	}

	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			s.srv.violation(s.conn, CloseNotText, "the protocol uses JSON text frames")
			return
		}
		if !utf8.Valid(data) {
			s.srv.violation(s.conn, CloseBadUTF8, "a text frame that is not UTF-8")
			return
		}
		if !s.requests.Allow() {
			s.srv.violation(s.conn, CloseRateLimited, fmt.Sprintf(
				"more than %g requests per second", s.srv.limits.RequestRate))
			return
		}
		s.srv.metrics.Requests.Inc()
		s.replying.Lock()
		r := s.handle(ctx, data)
		switch r.Op {
		case "":
		case opClose:
			s.srv.violation(s.conn, r.close, r.Message)
			err = errClosed
		case "error":
			s.srv.metrics.ProtocolErrors.WithLabelValues(r.Code).Inc()
			fallthrough
		default:
			err = s.reply(ctx, r)
		}
		s.replying.Unlock()
		if err != nil {
			return
		}
	}
}

// errClosed ends the read loop after the session closed the connection.
var errClosed = errors.New("edge: connection closed by the node")

func (s *session) reply(ctx context.Context, r reply) error {
	wctx, cancel := context.WithTimeout(ctx, s.srv.limits.WriteTimeout)
	defer cancel()
	return s.conn.Write(wctx, websocket.MessageText, r.encode())
}

// handle carries out one request. The writer waits while the read loop
// holds s.replying, so "subscribed" precedes the subscription's events.
func (s *session) handle(ctx context.Context, data []byte) reply {
	var req request
	if err := json.Unmarshal(data, &req); err != nil {
		return errorReply("", CodeBadJSON, "frame is not a JSON request: %v", err)
	}
	switch req.Op {
	case "subscribe":
		return s.subscribe(ctx, req)
	case "unsubscribe":
		sub, ok := s.subs[req.ID]
		if !ok {
			return errorReply(req.ID, CodeUnknownID, "no subscription %q on this connection", req.ID)
		}
		delete(s.subs, req.ID)
		s.publish()
		s.srv.hub.Remove(s, sub.symbols)
		return reply{Op: "unsubscribed", ID: req.ID}
	case "ping":
		return reply{Op: "pong"}
	case "":
		return errorReply(req.ID, CodeUnknownOp, "request has no op")
	}
	return errorReply(req.ID, CodeUnknownOp, "unknown op %q (want subscribe, unsubscribe or ping)", req.Op)
}

func (s *session) subscribe(ctx context.Context, req request) reply {
	switch {
	case req.ID == "":
		return errorReply("", CodeBadRequest, "subscribe needs an id")
	case s.subs[req.ID] != nil:
		return errorReply(req.ID, CodeDuplicateID, "subscription %q exists; unsubscribe first", req.ID)
	case len(s.subs) >= s.srv.limits.MaxSubscriptions:
		return closeReply(CloseTooManySubscriptions,
			fmt.Sprintf("at most %d subscriptions per connection", s.srv.limits.MaxSubscriptions))
	case req.Snapshot < 0 || req.Snapshot > maxSnapshot:
		return errorReply(req.ID, CodeBadRequest, "snapshot %d: want 0 to %d events", req.Snapshot, maxSnapshot)
	}
	sub, err := newSubscription(req.ID, req.Filter)
	if err != nil {
		return errorReply(req.ID, CodeBadFilter, "%v", err)
	}
	if refused := s.entitled(sub); refused != "" {
		return errorReply(req.ID, CodeForbidden, "%s", refused)
	}
	var resumeFrom map[int]string
	if len(req.ResumeFrom) > 0 {
		if resumeFrom, err = parseResume(req.ResumeFrom, s.srv.hub.Shards()); err != nil {
			return errorReply(req.ID, CodeBadRequest, "%v", err)
		}
		sub.seen = resumeFrom
	}

	// Send must know the subscription before the hub routes to it.
	s.subs[req.ID] = sub
	s.publish()
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	from, err := s.srv.hub.Add(actx, s, sub.symbols)
	cancel()
	if err != nil {
		delete(s.subs, req.ID)
		s.publish()
		return errorReply(req.ID, CodeUnavailable, "could not start reading the event streams; try again")
	}
	r := reply{Op: "subscribed", ID: req.ID, Symbols: sub.symbols, Positions: positions(from)}
	if resumeFrom != nil {
		var complete bool
		err = readHistory(ctx, func(ctx context.Context) error {
			var err error
			r.Missed, complete, err = s.missed(ctx, sub, from, resumeFrom)
			return err
		})
		switch {
		case err != nil:
			r.Resume, r.Missed = "gap", nil
			r.Message = "the event history could not be read; a fresh snapshot follows"
		case !complete:
			r.Resume, r.Missed = "gap", nil
			r.Message = "the feed no longer holds every event after resume_from; a fresh snapshot follows"
		default:
			r.Resume = "complete"
		}
		if r.Resume == "gap" && req.Snapshot == 0 {
			req.Snapshot = defaultResumeSnapshot
		}
	}
	if req.Snapshot > 0 {
		// The reply goes out before any live event of the subscription, and
		// the history ends exactly where live delivery starts.
		err = readHistory(ctx, func(ctx context.Context) error {
			var err error
			r.Snapshot, err = s.snapshot(ctx, sub, from, req.Snapshot)
			return err
		})
		if err != nil {
			r.Snapshot = []json.RawMessage{}
			r.Message = "no snapshot: the event history could not be read"
		}
	}
	return r
}

// entitled returns why the client may not hold the subscription, or "".
func (s *session) entitled(sub *subscription) string {
	if sub.firehose {
		if !s.identity.Firehose {
			return "the whole feed (*) needs a credential that grants it; name underlyings instead"
		}
		return ""
	}
	for _, u := range sub.symbols {
		if !s.identity.Allows(u) {
			return fmt.Sprintf("your credential does not entitle you to %s", u)
		}
	}
	return ""
}

// positions returns the event ids of the entries live delivery starts
// after, one per shard, in shard order.
func positions(from map[int]string) []string {
	shards := slices.Sorted(maps.Keys(from))
	out := make([]string, len(shards))
	for i, shard := range shards {
		out[i] = strconv.Itoa(shard) + "-" + from[shard]
	}
	return out
}

// History reads on subscribe get historyAttempts tries of historyTimeout
// each. A node saturated by a reconnect wave can miss one deadline although
// the stream holds every missed event; answering "gap" then would cost the
// client the events its snapshot does not cover.
const (
	historyAttempts = 3
	historyTimeout  = 5 * time.Second
	historyPause    = 100 * time.Millisecond
)

// readHistory runs read until it succeeds, the attempts run out or ctx ends,
// and returns the last error.
func readHistory(ctx context.Context, read func(context.Context) error) error {
	var err error
	for attempt := range historyAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(historyPause << (attempt - 1)):
			}
		}
		actx, cancel := context.WithTimeout(ctx, historyTimeout)
		err = read(actx)
		cancel()
		if err == nil {
			return nil
		}
	}
	return err
}

// defaultResumeSnapshot is the size of the fresh snapshot sent when a
// resume cannot be complete and the client asked for none.
const defaultResumeSnapshot = 100

// missed returns the events the subscription wants that were written after
// the client's last ids and before live delivery began, oldest first, and
// whether that history is complete. A shard the client named resumes after
// its id; any other shard after the oldest time among the ids, which may
// repeat events of that millisecond (their ids tell) but leaves no gap.
func (s *session) missed(ctx context.Context, sub *subscription, from, resumeFrom map[int]string) ([]json.RawMessage, bool, error) {
	oldest := ""
	for _, id := range resumeFrom {
		if oldest == "" || hub.CompareIDs(id, oldest) < 0 {
			oldest = id
		}
	}
	ms, _ := hub.SplitID(oldest)
	before := "0-0"
	if ms > 0 {
		before = strconv.FormatUint(ms-1, 10) + "-18446744073709551615"
	}

	var found []*hub.Event
	for shard, through := range from {
		after, ok := resumeFrom[shard]
		if !ok {
			after = before
		}
		if hub.CompareIDs(after, through) >= 0 {
			continue // the client saw everything up to where live delivery starts
		}
		evs, complete, err := s.srv.hub.Range(ctx, shard, after, through, maxResume, sub.names)
		if err != nil {
			return nil, false, err
		}
		if !complete {
			return nil, false, nil
		}
		for _, ev := range evs {
			if sub.wants(ev) {
				found = append(found, ev)
			}
		}
	}
	return inWriteOrder(found), true, nil
}

// snapshot returns up to n of the latest events the subscription wants,
// oldest first, from the history of each of its shards up to the given
// entry ids. It looks at most ten times n entries per shard, so a very
// selective filter may give fewer than n.
func (s *session) snapshot(ctx context.Context, sub *subscription, from map[int]string, n int) ([]json.RawMessage, error) {
	var found []*hub.Event
	for shard, id := range from {
		evs, err := s.srv.hub.Before(ctx, shard, id, min(maxSnapshot, 10*n), sub.names)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if sub.wants(ev) {
				found = append(found, ev)
			}
		}
	}
	out := inWriteOrder(found)
	return out[max(0, len(out)-n):], nil
}

// inWriteOrder sorts events read from several shards by their entry ids and
// returns their messages.
func inWriteOrder(evs []*hub.Event) []json.RawMessage {
	slices.SortFunc(evs, func(a, b *hub.Event) int { return hub.CompareIDs(a.Entry, b.Entry) })
	out := make([]json.RawMessage, len(evs))
	for i, ev := range evs {
		out[i] = ev.Msg
	}
	return out
}

// publish makes the current subscriptions the ones Send tests against and
// updates the subscriptions gauge.
func (s *session) publish() {
	if old := s.active.Load(); old != nil {
		s.srv.metrics.Subscriptions.Sub(float64(len(*old)))
	}
	s.srv.metrics.Subscriptions.Add(float64(len(s.subs)))
	list := make([]*subscription, 0, len(s.subs))
	for _, sub := range s.subs {
		list = append(list, sub)
	}
	s.active.Store(&list)
}

// write sends queued events when the hub flushes: whatever arrived for this
// client goes out in as few frames of at most BatchBytes as it fits in, so a
// burst costs few system calls. With a BatchDelay the writer first waits
// that long for more, so that the flushes of several shard readers share a
// frame. A lagged notice precedes the events that follow dropped ones.
func (s *session) write(ctx context.Context) {
	var evs []*hub.Event
	var delay *time.Timer
	if d := s.srv.limits.BatchDelay; d > 0 {
		delay = time.NewTimer(d)
		delay.Stop()
	}
	for {
		// One channel wakes the writer for events, for the end of the
		// session and for a client cut off as slow: a plain receive costs
		// less than a select, and this loop runs once per frame.
		<-s.kick
		select {
		case <-ctx.Done():
			return
		case <-s.slow:
			return // the heartbeat cuts the client off
		default:
		}
		if delay != nil {
			delay.Reset(s.srv.limits.BatchDelay)
			select {
			case <-ctx.Done():
				return
			case <-delay.C:
			}
		}
		if st := s.status.Swap(nil); st != nil {
			if err := s.writeFrame(ctx, *st); err != nil {
				return
			}
		}
		for first := true; ; first = false {
			evs, shed, depth := s.queue.pop(evs[:0], s.srv.limits.BatchBytes)
			if first {
				s.srv.metrics.QueueDepth.Observe(float64(depth))
			}
			if shed.dropped > 0 {
				s.srv.metrics.Dropped.Add(float64(shed.dropped))
				s.srv.metrics.Lagged.Inc()
				if err := s.writeFrame(ctx, laggedReply(shed).encode()); err != nil {
					return
				}
			}
			if len(evs) == 0 {
				break
			}
			buf := frames.Get().(*[]byte)
			*buf = appendEvents((*buf)[:0], evs)
			clear(evs) // the events may be freed once written
			err := s.writeFrame(ctx, *buf)
			size := len(*buf)
			frames.Put(buf)
			if err != nil {
				return
			}
			s.srv.metrics.Events.Add(float64(len(evs)))
			s.srv.metrics.Frames.Inc()
			s.srv.metrics.Bytes.Add(float64(size))
		}
	}
}

// frames holds the buffers events frames are built in, shared by all
// sessions: a node with thousands of mostly idle clients would otherwise
// keep a buffer as large as its largest frame for each.
var frames = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// appendEvents appends an events frame of evs to buf.
func appendEvents(buf []byte, evs []*hub.Event) []byte {
	buf = append(buf, `{"op":"events","events":[`...)
	for i, ev := range evs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, ev.Msg...)
	}
	return append(buf, "]}"...)
}

// writeFrame writes one frame after any reply being written. It gives the
// write no deadline and no context, which would cost a timer per frame: a
// write that blocks for good is ended by the heartbeat, whose ping cannot
// get through either, or, while events keep coming, by the lag grace, and
// the end of the session drops the connection under it.
func (s *session) writeFrame(ctx context.Context, frame []byte) error {
	s.replying.Lock()
	defer s.replying.Unlock()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	err := s.conn.Write(context.Background(), websocket.MessageText, frame)
	if err != nil && !errors.Is(err, context.Canceled) {
		s.conn.Close(websocket.StatusInternalError, "write failed")
	}
	return err
}

// cutOff closes a client whose queue overflowed. The heartbeat calls it, so
// it also happens while the writer is stuck in a write to a client that
// stopped reading; then no close frame gets through, and the close ends by
// dropping the connection.
func (s *session) cutOff() {
	s.srv.metrics.SlowClosed.Inc()
	s.srv.violation(s.conn, CloseSlowConsumer, fmt.Sprintf(
		"client stayed behind for more than %s", s.srv.limits.LagGrace))
}

// heartbeat pings the client; one that does not answer within the ping
// interval is closed, so dead peers do not hold resources. It also cuts off
// a slow client.
func (s *session) heartbeat(ctx context.Context) {
	t := time.NewTicker(s.srv.limits.PingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.slow:
			s.cutOff()
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, s.srv.limits.PingEvery)
		err := s.conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.srv.metrics.DeadClosed.Inc()
			s.srv.violation(s.conn, CloseNoPong, "no answer to ping")
			return
		}
	}
}

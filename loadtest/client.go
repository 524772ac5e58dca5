package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/liveflow/liveflow/loadtest/internal/account"
	"github.com/liveflow/liveflow/loadtest/internal/expect"
	"github.com/liveflow/liveflow/loadtest/internal/frames"
	"github.com/liveflow/liveflow/loadtest/internal/tally"
	"github.com/liveflow/liveflow/pkg/wsclient"
)

// handshakeTimeout bounds one dial and subscribe.
const handshakeTimeout = 10 * time.Second

// crowd is what the clients share.
type crowd struct {
	url         string
	origin      int64 // Unix nanoseconds that Rec.At counts from
	slowDelay   time.Duration
	resumeEvery time.Duration
	resumePause time.Duration
	reasons     *tally.Reasons
	received    atomic.Int64 // live arrivals of all clients

	resumes  atomic.Int64 // resume replies
	gaps     atomic.Int64 // of those, "gap"
	foreign  atomic.Int64 // events without a key or ingest_ts as the scorer writes them
	mu       sync.Mutex
	settled  bool // no client leaves any more
	awayNow  int  // resumers between leaving and their resume reply
	reconns  int  // resumers that could not come back
	awayPeak int
}

// leave reports whether a resumer may disconnect now, and counts it away.
func (cr *crowd) leave() bool {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.settled {
		return false
	}
	cr.awayNow++
	cr.awayPeak = max(cr.awayPeak, cr.awayNow)
	return true
}

// back counts a resumer back, or gone for good when it could not resume.
func (cr *crowd) back(ok bool) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.awayNow--
	if !ok {
		cr.reconns++
	}
}

// settle stops resumers from leaving.
func (cr *crowd) settle() {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	cr.settled = true
}

// client is one WebSocket connection of the run, and after a resume the
// next. The goroutine of run owns its fields but acct, which mu guards so
// that a ramp can read latencies while clients run.
type client struct {
	plan
	id string // the subscription id

	mu   sync.Mutex
	acct account.Client

	subscribed bool
	last       map[int]string // per shard, the last event id seen (resumers)
	rng        *rand.Rand
}

func newClient(p *plan) *client {
	c := &client{plan: *p, id: "c" + strconv.Itoa(p.n), last: map[int]string{},
		rng: rand.New(rand.NewPCG(uint64(p.n), 0x726573))}
	c.acct = account.Client{Class: p.class, Filter: &c.filter}
	return c
}

// run connects, subscribes, calls ready, and reads until ctx ends or the
// edge closes the connection. A resumer leaves now and then and comes back
// with resume_from.
func (c *client) run(ctx context.Context, cr *crowd, ready func()) {
	conn, err := c.connect(ctx, cr, nil)
	ready()
	if err != nil {
		return
	}
	for {
		err := c.read(ctx, conn, cr)
		conn.CloseNow()
		if ctx.Err() != nil {
			return
		}
		if !errors.Is(err, errLeave) {
			cr.reasons.Add(tally.CloseReason(err), err)
			return
		}
		_ = sleep(ctx, cr.resumePause)
		conn, err = c.connect(ctx, cr, c.resumeFrom())
		cr.back(err == nil)
		if err != nil {
			return
		}
	}
}

// errLeave ends a resumer's read: it disconnects on purpose.
var errLeave = errors.New("loadtest: the client leaves to resume later")

// read hands every frame to frame until ctx ends, the connection fails, or
// a resumer's time to leave comes (errLeave).
func (c *client) read(ctx context.Context, conn *websocket.Conn, cr *crowd) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var left atomic.Bool
	if c.class == account.Resumer {
		// Leave after half to one and a half times the average interval,
		// and only with a resume point: a client that has seen no event
		// yet could only subscribe afresh.
		d := time.Duration((0.5 + c.rng.Float64()) * float64(cr.resumeEvery))
		var t *time.Timer
		t = time.AfterFunc(d, func() {
			c.mu.Lock()
			seen := len(c.last) > 0
			c.mu.Unlock()
			switch {
			case !seen:
				t.Reset(d)
			case cr.leave():
				left.Store(true)
				cancel()
			}
		})
		defer t.Stop()
	}
	for {
		_, r, err := conn.Reader(rctx)
		if err != nil {
			if left.Load() && ctx.Err() == nil {
				return errLeave
			}
			return err
		}
		buf := bufs.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(r)
		if err == nil {
			c.frame(buf.Bytes(), time.Now().UnixNano(), cr)
		}
		bufs.Put(buf)
		if err != nil {
			if left.Load() && ctx.Err() == nil {
				return errLeave
			}
			return err
		}
		if c.class == account.Slow {
			if err := sleep(rctx, cr.slowDelay); err != nil {
				return err
			}
		}
	}
}

// bufs holds frame buffers: with thousands of clients, one buffer each
// would hold far more memory than the few that read at any moment.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// subscribeRequest is the protocol's subscribe.
type subscribeRequest struct {
	Op         string   `json:"op"`
	ID         string   `json:"id"`
	Filter     any      `json:"filter"`
	ResumeFrom []string `json:"resume_from,omitempty"`
}

// connect dials and subscribes, with resume_from when resume is not nil,
// counting a failure by its reason.
func (c *client) connect(ctx context.Context, cr *crowd, resume []string) (*websocket.Conn, error) {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	wc, err := wsclient.Dial(hctx, cr.url)
	if err != nil {
		if ctx.Err() == nil {
			cr.reasons.Add(tally.DialReason(err), err)
		}
		return nil, err
	}
	req := subscribeRequest{Op: "subscribe", ID: c.id, Filter: &c.filter, ResumeFrom: resume}
	if err := wc.Send(hctx, req); err != nil {
		cr.reasons.Add("subscribe: send failed", err)
		wc.Conn().CloseNow()
		return nil, err
	}
	if err := c.awaitSubscribed(hctx, wc.Conn(), cr, resume != nil); err != nil {
		wc.Conn().CloseNow()
		return nil, err
	}
	c.subscribed = true
	c.mu.Lock()
	c.acct.Subscribed = true
	c.mu.Unlock()
	return wc.Conn(), nil
}

var (
	subscribedPrefix = []byte(`{"op":"subscribed"`)
	errorPrefix      = []byte(`{"op":"error"`)
	laggedPrefix     = []byte(`{"op":"lagged"`)
)

// reply is the head of a subscribed or error reply.
type reply struct {
	ID        string   `json:"id"`
	Resume    string   `json:"resume"`
	Positions []string `json:"positions"`
	Code      string   `json:"code"`
	Message   string   `json:"message"`
}

// awaitSubscribed reads until the answer to the subscription. The events a
// resume reply carries count as replayed; after a gap its snapshot counts
// nowhere, so the events of the gap show as lost. The reply's positions,
// where live delivery starts in each shard, become the resume points of
// the shards, so that a later resume names every shard, also those the
// client has had no event from.
func (c *client) awaitSubscribed(ctx context.Context, conn *websocket.Conn, cr *crowd, resumed bool) error {
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			cr.reasons.Add("subscribe: no answer", err)
			return err
		}
		var r reply
		switch {
		case bytes.HasPrefix(b, subscribedPrefix):
			if err := json.Unmarshal(b, &r); err != nil || r.ID != c.id {
				continue
			}
			if resumed {
				cr.resumes.Add(1)
				if r.Resume != "complete" {
					cr.gaps.Add(1)
					cr.reasons.Add("resume: "+r.Resume, fmt.Errorf("%s", r.Message))
				} else {
					c.replayed(b)
				}
			}
			c.position(r.Positions)
			return nil
		case bytes.HasPrefix(b, errorPrefix):
			if json.Unmarshal(b, &r) == nil && r.ID == c.id {
				err := fmt.Errorf("%s: %s", r.Code, r.Message)
				cr.reasons.Add("subscribe: error "+r.Code, err)
				return err
			}
		}
	}
}

// replayed records the missed events of a resume reply.
func (c *client) replayed(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	frames.Scan(b, func(e frames.Event) {
		if k, ok := keyOf(e.Key); ok {
			c.acct.Replayed = append(c.acct.Replayed, k)
			c.see(e)
		}
	})
}

// position takes the positions of a subscribed reply as the resumer's
// resume points: everything up to them has arrived, live or replayed.
func (c *client) position(ids []string) {
	if c.class != account.Resumer {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		shard, _, ok := strings.Cut(id, "-")
		if n, err := strconv.Atoi(shard); ok && err == nil {
			c.last[n] = id
		}
	}
}

// frame takes one frame the edge sent, read at now.
func (c *client) frame(b []byte, now int64, cr *crowd) {
	switch {
	case frames.IsEvents(b):
		c.events(b, now, cr)
	case bytes.HasPrefix(b, laggedPrefix):
		var n struct{ Dropped int64 }
		_ = json.Unmarshal(b, &n)
		cr.reasons.Lagged(n.Dropped)
		c.mu.Lock()
		c.acct.Lagged += n.Dropped
		c.mu.Unlock()
	case bytes.HasPrefix(b, errorPrefix):
		var r reply
		_ = json.Unmarshal(b, &r)
		cr.reasons.Add("error reply: "+r.Code, fmt.Errorf("%s", r.Message))
	}
}

// events records the events of one frame.
func (c *client) events(b []byte, now int64, cr *crowd) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := frames.Scan(b, func(e frames.Event) {
		k, ok := keyOf(e.Key)
		if !ok || e.IngestTS == 0 {
			cr.foreign.Add(1)
			return
		}
		c.acct.Live = append(c.acct.Live, account.Rec{Key: k,
			Lat: saturate((now - e.IngestTS) / 1000), At: saturate((e.IngestTS - cr.origin) / 1e6)})
		c.see(e)
	})
	cr.received.Add(int64(n))
}

// see notes the last event id per shard, a resumer's resume point.
func (c *client) see(e frames.Event) {
	if c.class == account.Resumer && e.Shard >= 0 && len(e.ID) > 0 {
		c.last[e.Shard] = string(e.ID)
	}
}

// resumeFrom returns the last id seen per shard, in shard order.
func (c *client) resumeFrom() []string {
	shards := make([]int, 0, len(c.last))
	for s := range c.last {
		shards = append(shards, s)
	}
	slices.Sort(shards)
	ids := make([]string, len(shards))
	for i, s := range shards {
		ids[i] = c.last[s]
	}
	return ids
}

// keyOf packs an event key.
func keyOf(b []byte) (expect.Key, bool) {
	p, o, n, ok := frames.ParseKey(b)
	if !ok {
		return 0, false
	}
	return expect.MakeKey(p, o, n)
}

// saturate clamps v into a uint32.
func saturate(v int64) uint32 {
	return uint32(min(max(v, 0), math.MaxUint32))
}

// progress returns how many events the client received, live or replayed,
// and how many lagged notices said were dropped.
func (c *client) progress() (received, lagged int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.acct.Live) + len(c.acct.Replayed)), c.acct.Lagged
}

// liveSince returns a copy of the client's live arrivals from index from
// on.
func (c *client) liveSince(from int) []account.Rec {
	c.mu.Lock()
	defer c.mu.Unlock()
	if from >= len(c.acct.Live) {
		return nil
	}
	return slices.Clone(c.acct.Live[from:])
}

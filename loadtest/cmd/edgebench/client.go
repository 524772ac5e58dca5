package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/liveflow/liveflow/loadtest/internal/frames"
	"github.com/liveflow/liveflow/loadtest/internal/tally"
	"github.com/liveflow/liveflow/loadtest/internal/watch"
	"github.com/liveflow/liveflow/pkg/wsclient"
)

// handshakeTimeout bounds one client's dial and subscribe.
const handshakeTimeout = 10 * time.Second

// client is one WebSocket connection of the run and what it measured. Its
// fields are owned by its goroutine until the run has joined it; received
// may be read at any time.
type client struct {
	n       int // index; the subscription id is "c<n>"
	profile int // index into watch.Mix
	watch   []int
	filter  watch.Filter

	received atomic.Int64 // events in events frames, of any write

	subscribed bool
	seen       []uint64 // bit seq-lo: write seq of the window arrived
	last       []int64  // per shard, the highest write seq arrived
	dups       int64    // window writes that arrived again
	disorder   int64    // window writes that arrived after a later one of their shard
	alien      int64    // events not keyed or stamped as this run writes them

	// Filled in by account after the run.
	expected, delivered, unwanted int64
}

// measure is what the clients share: where the window is, the latency
// histograms and the tally of failures.
type measure struct {
	win     *window
	lat     *latencies
	reasons *tally.Reasons
	words   int // bitmap words to allocate for a window at first
}

// window holds the measured window as write sequence numbers: lo is the
// first write in it, hi the first after it. Both are MaxInt64 until set.
type window struct{ lo, hi atomic.Int64 }

func newWindow() *window {
	w := &window{}
	w.lo.Store(math.MaxInt64)
	w.hi.Store(math.MaxInt64)
	return w
}

// run connects, subscribes, calls ready, and reads until ctx ends or the
// edge closes the connection.
func (c *client) run(ctx context.Context, url string, m *measure, ready func()) {
	conn, err := c.connect(ctx, url, m)
	ready()
	if err != nil {
		return
	}
	defer conn.CloseNow()
	for {
		_, r, err := conn.Reader(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.reasons.Add(tally.CloseReason(err), err)
			}
			return
		}
		buf := bufs.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(r)
		if err == nil {
			c.frame(buf.Bytes(), time.Now().UnixNano(), m)
		}
		bufs.Put(buf)
	}
}

// bufs holds frame buffers: with thousands of clients, one buffer each
// would hold far more memory than the few that read at any moment.
var bufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// connect dials and subscribes, counting a failure by its reason.
func (c *client) connect(ctx context.Context, url string, m *measure) (*websocket.Conn, error) {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	wc, err := wsclient.Dial(hctx, url)
	if err != nil {
		m.reasons.Add(tally.DialReason(err), err)
		return nil, err
	}
	if err := c.subscribe(hctx, wc, m); err != nil {
		wc.Conn().CloseNow()
		return nil, err
	}
	c.subscribed = true
	return wc.Conn(), nil
}

// subscribe sends the client's subscription and waits for its answer.
func (c *client) subscribe(ctx context.Context, wc *wsclient.Client, m *measure) error {
	id := fmt.Sprintf("c%d", c.n)
	req := struct {
		Op     string        `json:"op"`
		ID     string        `json:"id"`
		Filter *watch.Filter `json:"filter"`
	}{"subscribe", id, &c.filter}
	if err := wc.Send(ctx, req); err != nil {
		m.reasons.Add("subscribe: send failed", err)
		return err
	}
	for {
		msg, err := wc.Read(ctx)
		switch {
		case err != nil:
			m.reasons.Add("subscribe: no answer", err)
			return err
		case msg.Op == "subscribed" && msg.ID == id:
			return nil
		case msg.Op == "error" && msg.ID == id:
			err := fmt.Errorf("%s: %s", msg.Code, msg.Message)
			m.reasons.Add("subscribe: error "+msg.Code, err)
			return err
		}
	}
}

var (
	laggedPrefix = []byte(`{"op":"lagged"`)
	errorPrefix  = []byte(`{"op":"error"`)
)

// frame takes one frame the edge sent, read at now.
func (c *client) frame(b []byte, now int64, m *measure) {
	switch {
	case frames.IsEvents(b):
		c.events(b, now, m)
	case bytes.HasPrefix(b, laggedPrefix):
		var n struct{ Dropped int64 }
		_ = json.Unmarshal(b, &n)
		m.reasons.Lagged(n.Dropped)
	case bytes.HasPrefix(b, errorPrefix):
		var e struct{ Code, Message string }
		_ = json.Unmarshal(b, &e)
		m.reasons.Add("error reply: "+e.Code, fmt.Errorf("%s", e.Message))
	}
}

// events records the events of one frame: every event counts as received;
// those of the window also go into the latency histogram and the client's
// bitmap.
func (c *client) events(b []byte, now int64, m *measure) {
	lo, hi := m.win.lo.Load(), m.win.hi.Load()
	var s *stripe
	n := frames.Scan(b, func(e frames.Event) {
		// This run keys write seq to shard s as "<s>.<seq>.0".
		part, seq, n, ok := frames.ParseKey(e.Key)
		if !ok || part != int64(e.Shard) || n != 0 || e.IngestTS == 0 {
			c.alien++
			return
		}
		if seq < lo || seq >= hi {
			return
		}
		if s == nil {
			s = m.lat.lock(c.n)
		}
		_ = s.h.RecordValue(max(0, now-e.IngestTS) / 1000)
		c.note(seq, seq-lo, e.Shard, m.words)
	})
	if s != nil {
		s.mu.Unlock()
	}
	c.received.Add(int64(n))
}

// note records that write seq, bit i of the window, arrived from shard.
func (c *client) note(seq, i int64, shard, words int) {
	w, bit := int(i/64), uint64(1)<<(i%64)
	if w >= len(c.seen) {
		c.seen = append(c.seen, make([]uint64, max(w+1-len(c.seen), words))...)
	}
	if c.seen[w]&bit != 0 {
		c.dups++
		return
	}
	c.seen[w] |= bit
	if shard < 0 || shard >= len(c.last) {
		return
	}
	if seq < c.last[shard] {
		c.disorder++
	} else {
		c.last[shard] = seq
	}
}

// got reports whether bit i of the window arrived.
func (c *client) got(i int64) bool {
	w := int(i / 64)
	return w < len(c.seen) && c.seen[w]&(uint64(1)<<(i%64)) != 0
}

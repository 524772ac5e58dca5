// Package polygon is the feed adapter for the options WebSocket of
// Polygon.io (now Massive). One Run is one connection: it dials, waits for
// the "connected" status, authenticates, subscribes to trades and quotes and
// streams until the connection fails, the feed stalls during market hours or
// ctx ends. Reconnecting, with backoff and a circuit breaker, is the
// caller's job (Run may be called again).
//
// Messages arrive as JSON arrays:
//
//	[{"ev":"status","status":"connected","message":"Connected Successfully"}]
//	[{"ev":"T","sym":"O:SPY251219C00650000","x":302,"p":6.05,"s":10,"c":[219],"t":1765207800123,"q":51}]
//	[{"ev":"Q","sym":"O:SPY251219C00650000","bx":302,"bp":6.0,"bs":40,"ax":308,"ap":6.1,"as":25,
//	  "t":1765207800124,"q":88}]
//
// Trades and quotes become ticks with the canonical OCC symbol, the
// exchange's short name, OPRA condition mnemonics and nanosecond times.
package polygon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/feed"
	"github.com/liveflow/liveflow/services/ingest/internal/market"
	"github.com/liveflow/liveflow/services/ingest/internal/secret"
)

// Errors Run returns, wrapped with detail; callers branch on them.
var (
	// ErrAuth means the vendor refused the key.
	ErrAuth = errors.New("polygon: authentication failed")
	// ErrStalled means no message arrived for Config.StallAfter during
	// market hours; the connection was closed.
	ErrStalled = errors.New("polygon: feed stalled")
)

// Events receives what a Source notices besides ticks. Its methods are
// called from Run's goroutines and must return quickly.
type Events interface {
	// SequenceGap reports that missed sequence numbers lie between last
	// and got for a symbol ("AAPL  261218C00200000") and event ("T", "Q").
	SequenceGap(symbol, ev string, last, got int64)
	// Stalled reports that no message arrived for idle during market hours.
	Stalled(idle time.Duration)
	// Status reports a status message of the vendor.
	Status(status, message string)
}

// Config configures a Source. Zero values mean the documented defaults.
type Config struct {
	URL    string        // ws:// or wss:// endpoint, without credentials
	Key    secret.String // sent in the auth message only
	Params []string      // subscription params, from Params; default every contract
	// Handshake bounds dialing, authenticating and subscribing; default 10 s.
	Handshake time.Duration
	// StallAfter is how long the feed may stay silent during market hours
	// before Run gives the connection up; 0 turns stall detection off.
	StallAfter time.Duration
	// CheckGaps reports skipped sequence numbers to Events.SequenceGap.
	CheckGaps bool
	// ReadLimit bounds one frame; default 16 MiB.
	ReadLimit  int64
	Now        func() time.Time     // default time.Now
	MarketOpen func(time.Time) bool // default market.RegularHours
	Events     Events               // default none
	HTTPClient *http.Client         // default http.DefaultClient
}

// Source reads one vendor endpoint. Run must not be called concurrently.
type Source struct {
	cfg    Config
	name   string
	parser *Parser
	seqs   *sequences
	last   atomic.Int64 // Unix ns of the last frame, or of a moment the market was closed
}

// New checks cfg and returns a Source.
func New(cfg Config) (*Source, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, fmt.Errorf("polygon: %q is not a ws:// or wss:// address", feed.Redact("x:" + cfg.URL)[2:])
	}
	if u.User != nil || u.RawQuery != "" {
		return nil, errors.New("polygon: the address must carry no user or query; pass the key in Config.Key")
	}
	if cfg.Key.IsZero() {
		return nil, errors.New("polygon: no key")
	}
	if cfg.StallAfter < 0 || cfg.Handshake < 0 || cfg.ReadLimit < 0 {
		return nil, errors.New("polygon: durations and the read limit must not be negative")
	}
	if cfg.Params == nil {
		cfg.Params, _ = Params([]string{All})
	}
	if cfg.Handshake == 0 {
		cfg.Handshake = 10 * time.Second
	}
	if cfg.ReadLimit == 0 {
		cfg.ReadLimit = 16 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MarketOpen == nil {
		cfg.MarketOpen = market.RegularHours
	}
	if cfg.Events == nil {
		cfg.Events = noEvents{}
	}
	return &Source{cfg: cfg, name: "polygon:" + cfg.URL, parser: NewParser(), seqs: newSequences()}, nil
}

// Name implements feed.Source.
func (s *Source) Name() string { return s.name }

// Run implements feed.Source: one connection, from dial to failure. It tells
// the sink it is up (feed.Up) once authenticated and subscribed. It returns
// an error wrapping ErrAuth when the key is refused and ErrStalled when the
// feed went silent during market hours.
func (s *Source) Run(ctx context.Context, sink feed.Sink) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	feed.Up(sink)

	s.last.Store(s.cfg.Now().UnixNano())
	stop := s.watch(ctx, cancel)
	err = s.stream(ctx, conn, sink)
	stop()
	if cause := context.Cause(ctx); errors.Is(cause, ErrStalled) {
		return cause
	}
	return err
}

// connect dials, authenticates and subscribes within the handshake time.
func (s *Source) connect(ctx context.Context) (*websocket.Conn, error) {
	hctx, cancel := context.WithTimeout(ctx, s.cfg.Handshake)
	defer cancel()
	conn, _, err := websocket.Dial(hctx, s.cfg.URL, &websocket.DialOptions{HTTPClient: s.cfg.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("polygon: connect to %s: %w", s.cfg.URL, err)
	}
	conn.SetReadLimit(s.cfg.ReadLimit)
	if err := s.handshake(hctx, conn); err != nil {
		conn.CloseNow()
		if hctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("polygon: %s did not complete the handshake within %s: %w",
				s.cfg.URL, s.cfg.Handshake, err)
		}
		return nil, err
	}
	return conn, nil
}

type action struct {
	Action string `json:"action"`
	Params string `json:"params"`
}

func (s *Source) handshake(ctx context.Context, conn *websocket.Conn) error {
	if err := s.await(ctx, conn, "connected"); err != nil {
		return err
	}
	auth, err := json.Marshal(action{Action: "auth", Params: s.cfg.Key.Reveal()})
	if err != nil {
		return fmt.Errorf("polygon: auth message: %w", err)
	}
	if err := conn.Write(ctx, websocket.MessageText, auth); err != nil {
		return fmt.Errorf("polygon: send auth: %w", err)
	}
	if err := s.await(ctx, conn, "auth_success"); err != nil {
		return err
	}
	for _, params := range chunks(s.cfg.Params) {
		msg, err := json.Marshal(action{Action: "subscribe", Params: params})
		if err != nil {
			return fmt.Errorf("polygon: subscribe message: %w", err)
		}
		if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
			return fmt.Errorf("polygon: subscribe: %w", err)
		}
	}
	return nil
}

// await reads status messages until want arrives. A refused key is ErrAuth;
// any frame that is not a status array is an error, since the handshake
// must not lose market data.
func (s *Source) await(ctx context.Context, conn *websocket.Conn, want string) error {
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return fmt.Errorf("polygon: waiting for %q: %w", want, err)
		}
		var msgs []message
		if err := json.Unmarshal(b, &msgs); err != nil {
			return fmt.Errorf("polygon: waiting for %q: frame is not a JSON array of messages: %w", want, err)
		}
		for _, m := range msgs {
			if m.Ev != evStatus {
				return fmt.Errorf("polygon: waiting for %q: got a %q message", want, m.Ev)
			}
			s.cfg.Events.Status(m.Status, m.Message)
			switch m.Status {
			case want:
				return nil
			case "auth_failed":
				return fmt.Errorf("%w: %s", ErrAuth, m.Message)
			case "auth_timeout", "max_connections", "error":
				return fmt.Errorf("polygon: waiting for %q: %s: %s", want, m.Status, m.Message)
			}
		}
	}
}

// stream reads frames until the connection fails or ctx ends.
func (s *Source) stream(ctx context.Context, conn *websocket.Conn, sink feed.Sink) error {
	h := &session{ctx: ctx, src: s, sink: sink}
	var buf bytes.Buffer
	for {
		typ, r, err := conn.Reader(ctx)
		if err != nil {
			return s.readError(ctx, err)
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return s.readError(ctx, err)
		}
		s.last.Store(s.cfg.Now().UnixNano())
		if typ != websocket.MessageText {
			sink.Reject(tape.ReasonMalformed, fmt.Errorf("polygon: binary frame of %d bytes", buf.Len()))
			continue
		}
		if err := s.parser.Frame(buf.Bytes(), h); err != nil {
			return err
		}
	}
}

func (s *Source) readError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("polygon: read from %s: %w", s.cfg.URL, err)
}

// watch starts the stall watchdog, which cancels ctx with ErrStalled when no
// frame arrived for StallAfter during market hours. Time while the market is
// closed does not count, so the first quiet minutes after the open are not
// charged with the night. The returned func stops and joins it.
func (s *Source) watch(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	limit := s.cfg.StallAfter
	if limit <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(max(limit/8, time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case <-t.C:
			}
			now := s.cfg.Now()
			if !s.cfg.MarketOpen(now) {
				s.last.Store(now.UnixNano())
				continue
			}
			if idle := now.Sub(time.Unix(0, s.last.Load())); idle >= limit {
				s.cfg.Events.Stalled(idle)
				cancel(fmt.Errorf("%w: no message from %s for %s", ErrStalled, s.cfg.URL,
					idle.Round(time.Millisecond)))
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// session is the parser's Handler for one connection.
type session struct {
	ctx  context.Context
	src  *Source
	sink feed.Sink
}

func (h *session) Tick(t *tick.Tick, seq int64, ev string) error {
	if h.src.cfg.CheckGaps {
		if last, missed := h.src.seqs.next(t.Symbol, ev, seq); missed > 0 {
			h.src.cfg.Events.SequenceGap(t.Symbol, ev, last, seq)
		}
	}
	return h.sink.Tick(h.ctx, t, seq)
}

func (h *session) Status(status, message string) error {
	h.src.cfg.Events.Status(status, message)
	if status == "auth_failed" {
		return fmt.Errorf("%w: %s", ErrAuth, message)
	}
	return nil
}

func (h *session) Reject(reason string, err error) { h.sink.Reject(reason, err) }

type noEvents struct{}

func (noEvents) SequenceGap(string, string, int64, int64) {}
func (noEvents) Stalled(time.Duration)                    {}
func (noEvents) Status(string, string)                    {}

var _ feed.Source = (*Source)(nil)

package polygon

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/secret"
	"github.com/liveflow/liveflow/services/ingest/internal/vendortest"
)

var testKey = secret.New("pk_test_DO_NOT_LOG_0123456789")

const waitLimit = 10 * time.Second

// sink records what a Source hands it; safe for concurrent use.
type sink struct {
	mu      sync.Mutex
	ticks   []tick.Tick
	seqs    []int64
	reasons []string
	ups     int
}

func (s *sink) Tick(_ context.Context, t *tick.Tick, seq int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := *t
	cp.Conditions = append([]string{}, t.Conditions...)
	s.ticks = append(s.ticks, cp)
	s.seqs = append(s.seqs, seq)
	return nil
}

func (s *sink) Reject(reason string, _ error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reasons = append(s.reasons, reason)
}

func (s *sink) Up() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ups++
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ticks)
}

// events records what a Source reports.
type events struct {
	mu       sync.Mutex
	gaps     []string
	stalls   int
	statuses []string
}

func (e *events) SequenceGap(symbol, ev string, last, got int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.gaps = append(e.gaps, ev+" "+symbol)
	_ = last
	_ = got
}

func (e *events) Stalled(time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stalls++
}

func (e *events) Status(status, _ string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.statuses = append(e.statuses, status)
}

// marketClock runs from a Wednesday 10:00 New York time at the pace of the
// real clock, so that stall detection is on whatever the hour of the test.
func marketClock() func() time.Time {
	start := time.Now()
	base := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	return func() time.Time { return base.Add(time.Since(start)) }
}

func newSource(tb testing.TB, srv *vendortest.Server, ev *events, mod func(*Config)) *Source {
	tb.Helper()
	cfg := Config{URL: srv.URL, Key: testKey, Events: ev, CheckGaps: true, Now: marketClock(),
		Handshake: time.Second}
	if mod != nil {
		mod(&cfg)
	}
	src, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

// runUntil runs src until cond holds, then cancels it and returns what Run
// returned.
func runUntil(tb testing.TB, src *Source, s *sink, what string, cond func() bool) error {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, s) }()
	testkit.Eventually(tb, waitLimit, what, func() bool {
		select {
		case err := <-done:
			done <- err
			return true
		default:
			return cond()
		}
	})
	cancel()
	return <-done
}

func TestRunStreamsASession(t *testing.T) {
	t.Parallel()
	frames := vendortest.Frames(t, "session.frames")
	srv := vendortest.NewServer(t, testKey.Reveal(), func(int) vendortest.Session {
		return vendortest.Session{Frames: frames, End: vendortest.Hold}
	})
	var ev events
	src := newSource(t, srv, &ev, func(c *Config) {
		var err error
		if c.Params, err = Params([]string{"SPY", "O:AAPL261218P00190000"}); err != nil {
			t.Fatal(err)
		}
	})
	var s sink
	want := vendortest.Ticks(t, "session.ndjson")
	err := runUntil(t, src, &s, "every tick of the session", func() bool { return s.count() == len(want) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled once cancelled", err)
	}
	sameTicks(t, s.ticks, want)
	if s.ups != 1 {
		t.Errorf("Up called %d times, want once per connection", s.ups)
	}
	subs := strings.Join(srv.Subscriptions(), ";")
	if subs != "T.O:SPY*,Q.O:SPY*,T.O:AAPL261218P00190000,Q.O:AAPL261218P00190000" {
		t.Errorf("subscribed to %q", subs)
	}
	if len(ev.gaps) != 0 || ev.stalls != 0 {
		t.Errorf("clean session reported gaps %v and %d stalls", ev.gaps, ev.stalls)
	}
	if got := strings.Join(ev.statuses, ","); got != "connected,auth_success,success" {
		t.Errorf("statuses %s, want connected, auth_success, success", got)
	}
}

func TestRunReportsSequenceGaps(t *testing.T) {
	t.Parallel()
	frames := vendortest.Frames(t, "gap.frames")
	srv := vendortest.NewServer(t, testKey.Reveal(), func(int) vendortest.Session {
		return vendortest.Session{Frames: frames}
	})
	var ev events
	src := newSource(t, srv, &ev, nil)
	var s sink
	want := vendortest.Ticks(t, "gap.ndjson")
	runUntil(t, src, &s, "every tick", func() bool { return s.count() == len(want) })
	sameTicks(t, s.ticks, want)
	if got := strings.Join(ev.gaps, ","); got != "Q SPY   261218C00600000" {
		t.Errorf("gaps %q, want the one SPY quote missing", got)
	}
}

func TestRunRefusedKey(t *testing.T) {
	t.Parallel()
	srv := vendortest.NewServer(t, "another key", func(int) vendortest.Session { return vendortest.Session{} })
	var ev events
	src := newSource(t, srv, &ev, nil)
	err := src.Run(context.Background(), &sink{})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("Run with a refused key = %v, want ErrAuth", err)
	}
	if strings.Contains(err.Error(), testKey.Reveal()) {
		t.Errorf("the error quotes the key: %v", err)
	}
}

func TestRunGivesUpASlowHandshake(t *testing.T) {
	t.Parallel()
	srv := vendortest.NewServer(t, testKey.Reveal(), func(int) vendortest.Session {
		return vendortest.Session{AuthDelay: 2 * time.Second}
	})
	src := newSource(t, srv, &events{}, func(c *Config) { c.Handshake = 200 * time.Millisecond })
	start := time.Now()
	err := src.Run(context.Background(), &sink{})
	if err == nil || !strings.Contains(err.Error(), "did not complete the handshake") {
		t.Errorf("Run = %v, want a handshake timeout", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Run took %s to give up a 200ms handshake", took)
	}
}

func TestRunDetectsAStallOnlyDuringMarketHours(t *testing.T) {
	t.Parallel()
	frames := vendortest.Frames(t, "session.frames")[:2]
	srv := vendortest.NewServer(t, testKey.Reveal(), func(int) vendortest.Session {
		return vendortest.Session{Frames: frames, End: vendortest.Hold}
	})

	var ev events
	src := newSource(t, srv, &ev, func(c *Config) { c.StallAfter = 150 * time.Millisecond })
	err := src.Run(context.Background(), &sink{})
	if !errors.Is(err, ErrStalled) || ev.stalls != 1 {
		t.Errorf("Run = %v after %d stalls, want ErrStalled after one", err, ev.stalls)
	}

	// The same silence on a Saturday is no stall.
	var quiet events
	saturday := time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC)
	src = newSource(t, srv, &quiet, func(c *Config) {
		c.StallAfter = 150 * time.Millisecond
		c.Now = func() time.Time { return saturday }
	})
	var s sink
	err = runUntil(t, src, &s, "twice the stall time", func() bool {
		time.Sleep(300 * time.Millisecond)
		return true
	})
	if !errors.Is(err, context.Canceled) || quiet.stalls != 0 {
		t.Errorf("Run on a Saturday = %v after %d stalls, want no stall", err, quiet.stalls)
	}
}

func TestRunRejectsBinaryFrames(t *testing.T) {
	t.Parallel()
	frames := []vendortest.Frame{{Data: []byte{0x01, 0x02}, Binary: true}}
	frames = append(frames, vendortest.Frames(t, "session.frames")[:1]...)
	srv := vendortest.NewServer(t, testKey.Reveal(), func(int) vendortest.Session {
		return vendortest.Session{Frames: frames}
	})
	src := newSource(t, srv, &events{}, nil)
	var s sink
	runUntil(t, src, &s, "the frame after the binary one", func() bool { return s.count() == 2 })
	if strings.Join(s.reasons, ",") != "malformed" {
		t.Errorf("rejections %v, want the binary frame as malformed", s.reasons)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"http":     {URL: "http://x/options", Key: testKey},
		"no host":  {URL: "ws:///options", Key: testKey},
		"query":    {URL: "wss://x/options?apiKey=" + testKey.Reveal(), Key: testKey},
		"no key":   {URL: "wss://x/options"},
		"negative": {URL: "wss://x/options", Key: testKey, StallAfter: -1},
	} {
		_, err := New(cfg)
		if err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		} else if strings.Contains(err.Error(), testKey.Reveal()) {
			t.Errorf("%s: the error quotes the key: %v", name, err)
		}
	}
}

func TestParams(t *testing.T) {
	cases := map[string]string{
		"*":                     "T.*,Q.*",
		"AAPL,SPY,AAPL":         "T.O:AAPL*,Q.O:AAPL*,T.O:SPY*,Q.O:SPY*",
		"SPY   261218C00600000": "T.O:SPY261218C00600000,Q.O:SPY261218C00600000",
		"O:SPY261218C00600000":  "T.O:SPY261218C00600000,Q.O:SPY261218C00600000",
	}
	for in, want := range cases {
		got, err := Params(strings.Split(in, ","))
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("Params(%s) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "*,SPY", "spy!", "TOOLONGROOT"} {
		if _, err := Params(strings.Split(bad, ",")); err == nil {
			t.Errorf("Params(%q) accepted", bad)
		}
	}
	many := make([]string, 1200)
	for i := range many {
		many[i] = "x"
	}
	if c := chunks(many); len(c) != 3 || strings.Count(c[0], ",") != maxParamsPerMessage-1 {
		t.Errorf("1,200 params went in %d messages, want 3 of at most %d", len(c), maxParamsPerMessage)
	}
}

func TestSequences(t *testing.T) {
	s := newSequences()
	steps := []struct {
		sym    string
		seq    int64
		missed int64
	}{
		{"A", 1, 0}, {"A", 2, 0}, {"A", 5, 2}, {"B", 9, 0}, {"A", 6, 0},
		{"A", 3, 0}, // a replay starts over: no gap
		{"A", 4, 0}, {"A", 0, 0}, {"A", 5, 0},
	}
	for i, st := range steps {
		if _, missed := s.next(st.sym, "T", st.seq); missed != st.missed {
			t.Errorf("step %d (%s %d): missed %d, want %d", i, st.sym, st.seq, missed, st.missed)
		}
	}
}

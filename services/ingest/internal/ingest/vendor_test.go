package ingest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/polygon"
	"github.com/liveflow/liveflow/services/ingest/internal/secret"
	"github.com/liveflow/liveflow/services/ingest/internal/status"
	"github.com/liveflow/liveflow/services/ingest/internal/vendortest"
)

var vendorKey = secret.New("pk_test_NEVER_IN_LOGS_4f9a")

// harness is one pipeline into a kfake cluster, with the metrics, logs and
// status board of the feeds that run into it.
type harness struct {
	t       *testing.T
	brokers []string
	cl      *kgo.Client
	m       *Metrics
	logs    *testkit.Logs
	board   *status.Board
	pipe    *Pipeline

	mu      sync.Mutex
	reasons []string // every status the board went through, "ok" or the reason
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, brokers: newCluster(t, 4), m: NewMetrics(prometheus.NewRegistry()),
		logs: &testkit.Logs{}, board: status.NewBoard(nil)}
	h.cl = newClient(t, h.brokers, kgo.ProducerLinger(0))
	var err error
	if h.pipe, err = NewPipeline(context.Background(), h.cl, topic, h.m, h.logs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pub := &status.Publisher{Board: h.board, OnChange: func(s status.Snapshot) {
		h.mu.Lock()
		defer h.mu.Unlock()
		r := s.State
		if s.Reason != "" {
			r = s.Reason
		}
		if len(h.reasons) == 0 || h.reasons[len(h.reasons)-1] != r {
			h.reasons = append(h.reasons, r)
		}
	}}
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return h
}

// source is a vendor feed on srv reporting to the harness.
func (h *harness) source(srv *vendortest.Server, role string, mod func(*polygon.Config)) *polygon.Source {
	h.t.Helper()
	events := &FeedEvents{Role: role, Name: "polygon:" + srv.URL, Metrics: h.m, Log: h.logs, Board: h.board,
		GapHold: time.Minute}
	cfg := polygon.Config{URL: srv.URL, Key: vendorKey, CheckGaps: true, Events: events,
		Handshake: 300 * time.Millisecond, Now: marketClock()}
	if mod != nil {
		mod(&cfg)
	}
	src, err := polygon.New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return src
}

// run starts RunFeeds until the test ends.
func (h *harness) run(f Feeds) {
	f.Sink, f.Metrics, f.Log, f.Board = h.pipe, h.m, h.logs, h.board
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunFeeds(ctx, f) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(waitLimit):
			h.t.Errorf("RunFeeds did not return within %s of cancellation", waitLimit)
		}
	})
}

// expect waits until want has been produced, then checks that the topic
// holds exactly want: nothing missing, nothing twice, in order within
// each underlying.
func (h *harness) expect(want []tick.Tick) {
	h.t.Helper()
	waitFor(h.t, fmt.Sprintf("%d ticks acknowledged", len(want)), func() bool {
		return testutil.ToFloat64(h.m.Produced) >= float64(len(want))
	})
	flush(h.t, h.cl)
	if n := endOffsetSum(h.t, h.cl); n != int64(len(want)) {
		h.t.Errorf("topic holds %d records, want exactly %d", n, len(want))
	}
	sameTape(h.t, consumeAll(h.t, h.brokers, len(want)), want)
	if h.logs.Contains(vendorKey.Reveal()) {
		h.t.Errorf("the vendor key appears in the logs")
	}
}

func (h *harness) sawStatuses() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.reasons, ",")
}

// sameTape checks that records decode to want, per underlying in order.
func sameTape(tb testing.TB, got []*kgo.Record, want []tick.Tick) {
	tb.Helper()
	codec, err := tick.NewCodec()
	if err != nil {
		tb.Fatal(err)
	}
	line := func(t tick.Tick) string {
		t.IngestTS = 0
		if len(t.Conditions) == 0 {
			t.Conditions = nil
		}
		return fmt.Sprintf("%+v", t)
	}
	gotBy, wantBy := map[string][]string{}, map[string][]string{}
	for _, r := range got {
		var tk tick.Tick
		if err := codec.Decode(r.Value, &tk); err != nil {
			tb.Fatalf("record %d/%d: %v", r.Partition, r.Offset, err)
		}
		if string(r.Key) != tk.Underlying {
			tb.Errorf("record %d/%d keyed %q, want %q", r.Partition, r.Offset, r.Key, tk.Underlying)
		}
		gotBy[tk.Underlying] = append(gotBy[tk.Underlying], line(tk))
	}
	for _, w := range want {
		wantBy[w.Underlying] = append(wantBy[w.Underlying], line(w))
	}
	for u, w := range wantBy {
		g := gotBy[u]
		if strings.Join(g, "\n") != strings.Join(w, "\n") {
			tb.Errorf("%s ticks in Kafka:\n%s\nwant:\n%s", u, strings.Join(g, "\n"), strings.Join(w, "\n"))
		}
	}
	for u := range gotBy {
		if _, ok := wantBy[u]; !ok {
			tb.Errorf("unexpected ticks of %s in Kafka", u)
		}
	}
}

// marketClock runs from a Wednesday 10:00 New York time at the pace of the
// real clock, so that stall detection is on whatever the hour of the test.
func marketClock() func() time.Time {
	start := time.Now()
	base := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC)
	return func() time.Time { return base.Add(time.Since(start)) }
}

// ticksIn counts the ticks of frames.
func ticksIn(frames []vendortest.Frame) int {
	n := 0
	for _, f := range frames {
		n += strings.Count(string(f.Data), `"ev":"T"`) + strings.Count(string(f.Data), `"ev":"Q"`)
	}
	return n
}

// TestVendorFeedRecovers runs the adapter against a local vendor server
// through the supervisor and the pipeline into kfake: after each kind of
// trouble the feed recovers, and Kafka holds exactly the expected ticks.
func TestVendorFeedRecovers(t *testing.T) {
	t.Parallel()
	session := vendortest.Frames(t, "session.frames")
	garbage := vendortest.Frames(t, "garbage.frames")
	garbage = append(garbage[:2:2], append([]vendortest.Frame{{Data: []byte{0xff, 0x00}, Binary: true}},
		garbage[2:]...)...)

	cases := []struct {
		name   string
		want   string                         // expected tape
		script func(n int) vendortest.Session // the server's n-th connection
		stall  time.Duration                  // 0: off
		// closes: the market closes once a session has sent its frames,
		// so the silence of a held connection after them is no stall.
		closes bool
		check  func(t *testing.T, h *harness, srv *vendortest.Server)
	}{
		{
			name: "auth failure", want: "session.ndjson",
			script: func(n int) vendortest.Session {
				// Refused three times: long enough (three restart delays)
				// for the status to show it on a slow machine.
				if n <= 3 {
					return vendortest.Session{RejectAuth: true}
				}
				return vendortest.Session{Frames: session}
			},
			check: func(t *testing.T, h *harness, _ *vendortest.Server) {
				if n := testutil.ToFloat64(h.m.VendorStatus.WithLabelValues(Primary, "auth_failed")); n != 3 {
					t.Errorf("auth_failed statuses counted %v, want 3", n)
				}
				if h.logs.Count("warn", "vendor refused the key") != 3 {
					t.Errorf("no warning naming the refused key: %v", h.logs.All())
				}
				if s := h.sawStatuses(); !strings.Contains(s, status.AuthFailed+",ok") {
					t.Errorf("status went %s, want auth_failed and then ok", s)
				}
			},
		},
		{
			name: "dropped connection, replayed from the start", want: "session.ndjson",
			script: func(n int) vendortest.Session {
				if n == 1 {
					return vendortest.Session{Frames: session[:5], End: vendortest.Drop}
				}
				return vendortest.Session{Frames: session}
			},
			check: func(t *testing.T, h *harness, _ *vendortest.Server) {
				if n, want := testutil.ToFloat64(h.m.Duplicates), ticksIn(session[:5]); n != float64(want) {
					t.Errorf("dropped %v repeated ticks, want the %d of the first connection", n, want)
				}
				if n := testutil.ToFloat64(h.m.FeedRestarts.WithLabelValues(Primary)); n != 1 {
					t.Errorf("restarts %v, want 1", n)
				}
			},
		},
		{
			name: "sequence gap", want: "gap.ndjson",
			script: func(int) vendortest.Session {
				return vendortest.Session{Frames: vendortest.Frames(t, "gap.frames")}
			},
			check: func(t *testing.T, h *harness, _ *vendortest.Server) {
				if n := testutil.ToFloat64(h.m.SequenceGaps.WithLabelValues(Primary)); n != 1 {
					t.Errorf("gaps %v, want 1", n)
				}
				if n := testutil.ToFloat64(h.m.SequenceMissed.WithLabelValues(Primary)); n != 1 {
					t.Errorf("missed %v, want 1", n)
				}
				if h.logs.Count("warn", "sequence gap") != 1 {
					t.Errorf("no gap warning: %v", h.logs.All())
				}
				if s, _ := h.board.Snapshot(); s.Reason != status.SequenceGap ||
					!strings.Contains(s.Detail, "skipped 1 Q messages of SPY   261218C00600000") {
					t.Errorf("status %+v, want degraded by the gap", s)
				}
			},
		},
		{
			name: "stall", want: "session.ndjson", stall: 300 * time.Millisecond,
			script: func(n int) vendortest.Session {
				if n == 1 {
					return vendortest.Session{Frames: session[:3], End: vendortest.Hold}
				}
				return vendortest.Session{Frames: session}
			},
			check: func(t *testing.T, h *harness, _ *vendortest.Server) {
				// The last session goes silent too once it has sent
				// everything, so a slow run may see more stalls; each
				// reconnection's replay adds nothing to Kafka.
				stalls := testutil.ToFloat64(h.m.Stalls.WithLabelValues(Primary))
				if stalls < 1 {
					t.Errorf("stalls %v, want at least 1", stalls)
				}
				if n := h.logs.Count("warn", "feed stalled"); float64(n) != stalls {
					t.Errorf("%d stall warnings for %v stalls", n, stalls)
				}
				if s := h.sawStatuses(); !strings.Contains(s, status.Stalled+",ok") {
					t.Errorf("status went %s, want stalled and then ok", s)
				}
			},
		},
		{
			name: "garbage frames", want: "garbage.ndjson",
			script: func(int) vendortest.Session { return vendortest.Session{Frames: garbage} },
			check: func(t *testing.T, h *harness, srv *vendortest.Server) {
				want := map[string]float64{"malformed": 5, "bad_symbol": 1, "unknown_type": 1, "invalid": 2}
				for reason, n := range want {
					if got := testutil.ToFloat64(h.m.Rejected.WithLabelValues(reason)); got != n {
						t.Errorf("rejected{reason=%s} = %v, want %v", reason, got, n)
					}
				}
				if n := srv.Connections(); n != 1 {
					t.Errorf("%d connections: garbage must not cost the connection", n)
				}
			},
		},
		{
			name: "slow server", want: "session.ndjson", stall: 2 * time.Second, closes: true,
			script: func(n int) vendortest.Session {
				if n == 1 {
					return vendortest.Session{AuthDelay: 2 * time.Second}
				}
				return vendortest.Session{Frames: session, Gap: 30 * time.Millisecond}
			},
			check: func(t *testing.T, h *harness, _ *vendortest.Server) {
				if !h.logs.Contains("did not complete the handshake") {
					t.Errorf("the slow handshake was not reported: %v", h.logs.All())
				}
				if n := testutil.ToFloat64(h.m.Stalls.WithLabelValues(Primary)); n != 0 {
					t.Errorf("a slow but steady feed counted %v stalls", n)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			srv := vendortest.NewServer(t, vendorKey.Reveal(), c.script)
			h.run(Feeds{Primary: h.source(srv, Primary, func(cfg *polygon.Config) {
				cfg.StallAfter = c.stall
				if c.closes {
					cfg.MarketOpen = func(time.Time) bool { return srv.Finished() == 0 }
				}
			}), TripAfter: 5, CoolDown: time.Second})
			h.expect(vendortest.Ticks(t, c.want))
			c.check(t, h, srv)
		})
	}
}

// TestFailover: the primary dies mid-stream, the secondary takes over, the
// primary returns. Both servers replay the stream from its start on every
// connection, as a replay or a vendor with recovery would, so each switch
// must drop what was already passed on: Kafka holds every tick once.
func TestFailover(t *testing.T) {
	t.Parallel()
	frames := vendortest.Frames(t, "session.frames")
	primaryBack := make(chan struct{})
	primary := vendortest.NewServer(t, vendorKey.Reveal(), func(n int) vendortest.Session {
		select {
		case <-primaryBack:
			return vendortest.Session{Frames: frames}
		default:
		}
		if n == 1 {
			return vendortest.Session{Frames: frames[:4], End: vendortest.Drop}
		}
		return vendortest.Session{Refuse: true}
	})
	secondary := vendortest.NewServer(t, vendorKey.Reveal(), func(int) vendortest.Session {
		return vendortest.Session{Frames: frames[:8]} // then silent, until stopped
	})

	h := newHarness(t)
	h.run(Feeds{Primary: h.source(primary, Primary, nil), Secondary: h.source(secondary, Secondary, nil),
		TripAfter: 2, CoolDown: 300 * time.Millisecond})

	waitFor(t, "the switch to the secondary and its ticks", func() bool {
		return testutil.ToFloat64(h.m.Switches.WithLabelValues(Secondary)) == 1 &&
			testutil.ToFloat64(h.m.Produced) == float64(ticksIn(frames[:8]))
	})
	if s, _ := h.board.Snapshot(); s.Reason != status.Failover || s.Feed != "polygon:"+secondary.URL {
		t.Errorf("status on the secondary: %+v", s)
	}
	close(primaryBack)
	waitFor(t, "the switch back to the primary", func() bool {
		return testutil.ToFloat64(h.m.Switches.WithLabelValues(Primary)) == 1
	})
	h.expect(vendortest.Ticks(t, "session.ndjson"))

	// The secondary replayed the 4 frames the primary had passed, the
	// primary the 8 the secondary had: all dropped.
	want := ticksIn(frames[:4]) + ticksIn(frames[:8])
	if n := testutil.ToFloat64(h.m.Duplicates); n != float64(want) {
		t.Errorf("dropped %v repeated ticks, want %d", n, want)
	}
	waitFor(t, "the secondary stopped", func() bool {
		return testutil.ToFloat64(h.m.FeedUp.WithLabelValues(Secondary)) == 0
	})
	if a, b := testutil.ToFloat64(h.m.FeedActive.WithLabelValues(Primary)),
		testutil.ToFloat64(h.m.FeedActive.WithLabelValues(Secondary)); a != 1 || b != 0 {
		t.Errorf("active gauges primary %v, secondary %v; want 1 and 0", a, b)
	}
	waitFor(t, "status ok again", func() bool {
		s, _ := h.board.Snapshot()
		return s.State == status.OK && s.Feed == "polygon:"+primary.URL
	})
	if s := h.sawStatuses(); !strings.Contains(s, status.Failover) || !strings.HasSuffix(s, ",ok") {
		t.Errorf("status went %s, want through failover back to ok", s)
	}
	for _, msg := range []string{"primary feed is failing; switching to the secondary",
		"primary feed is up again; switched back"} {
		if !h.logs.Contains(msg) {
			t.Errorf("no log line %q", msg)
		}
	}
	if !h.logs.Contains("from closed to open") {
		t.Errorf("the primary's breaker opening was not logged")
	}
}

func TestRouterDropsWhatAnEarlierAttemptPassed(t *testing.T) {
	const sym = "SPY   261218C00600000"
	type step struct {
		gen     uint64
		ts, seq int64
		passed  bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"one connection passes everything, late reports too", []step{
			{1, 10, 1, true}, {1, 10, 2, true}, {1, 5, 3, true}, {1, 10, 2, true}}},
		{"a replay passes only what is newer", []step{
			{1, 10, 1, true}, {1, 20, 2, true},
			{2, 10, 1, false}, {2, 20, 2, false}, {2, 30, 3, true}, {2, 40, 4, true}}},
		{"a later start loses nothing", []step{
			{1, 10, 1, true}, {2, 30, 3, true}, {2, 40, 4, true}}},
		{"without sequence numbers, ticks at the mark's time count", []step{
			{1, 10, 0, true}, {1, 10, 0, true},
			{2, 10, 0, false}, {2, 10, 0, false}, {2, 10, 0, true}, {2, 11, 0, true},
			{3, 10, 0, false}, {3, 11, 0, false}, {3, 12, 0, true}}},
		{"each replay skips the repeats again", []step{
			{1, 10, 1, true}, {1, 20, 2, true},
			{2, 10, 1, false}, {2, 20, 2, false},
			{3, 10, 1, false}, {3, 20, 2, false}, {3, 30, 3, true}}},
		{"a new day's numbering starts low but later", []step{
			{1, 100, 900, true}, {2, 200, 1, true}, {2, 201, 2, true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out recordingSink
			r := newRouter(&out, NewMetrics(prometheus.NewRegistry()))
			for i, s := range c.steps {
				before := len(out.ticks)
				tk := tick.Tick{Type: tick.Trade, TS: s.ts, Symbol: sym, Underlying: "SPY"}
				if err := r.deliver(context.Background(), 0, s.gen, &tk, s.seq); err != nil {
					t.Fatal(err)
				}
				if passed := len(out.ticks) > before; passed != s.passed {
					t.Errorf("step %d (gen %d, ts %d, seq %d): passed %v, want %v",
						i, s.gen, s.ts, s.seq, passed, s.passed)
				}
			}
		})
	}
	t.Run("only the active feed passes", func(t *testing.T) {
		var out recordingSink
		m := NewMetrics(prometheus.NewRegistry())
		r := newRouter(&out, m)
		tk := tick.Tick{Type: tick.Trade, TS: 1, Symbol: sym, Underlying: "SPY"}
		if err := r.deliver(context.Background(), 1, 1, &tk, 1); err != nil || len(out.ticks) != 0 {
			t.Errorf("a standby tick passed (%v)", err)
		}
		if n := testutil.ToFloat64(m.StandbyTicks); n != 1 {
			t.Errorf("standby ticks %v, want 1", n)
		}
	})
}

type recordingSink struct{ ticks []tick.Tick }

func (s *recordingSink) Tick(_ context.Context, t *tick.Tick, _ int64) error {
	s.ticks = append(s.ticks, *t)
	return nil
}
func (s *recordingSink) Reject(string, error) {}

package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/feed"
)

const (
	topic     = "ticks"
	waitLimit = 10 * time.Second
)

var readAt = time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC)

func TestPipelineProducesKeyedTicks(t *testing.T) {
	t.Parallel()
	brokers := newCluster(t, 4)
	cl := newClient(t, brokers, kgo.ProducerLinger(0))
	m := NewMetrics(prometheus.NewRegistry())
	log := &testkit.Logs{}
	pipe, err := NewPipeline(context.Background(), cl, topic, m, log)
	if err != nil {
		t.Fatal(err)
	}
	pipe.now = func() time.Time { return readAt }

	const (
		aapl = "AAPL  261218C00200000"
		msft = "MSFT  261218P00400000"
		spy  = "SPY   261218C00600000"
	)
	spot := func(u string, price float64) tick.Tick {
		return tick.Tick{Type: tick.Spot, Underlying: u, Price: price}
	}
	quote := func(u, symbol string, bid, ask float64) tick.Tick {
		return tick.Tick{Type: tick.Quote, Underlying: u, Symbol: symbol, Bid: bid, Ask: ask}
	}
	trade := func(u, symbol string, price float64, size int64, conditions ...string) tick.Tick {
		return tick.Tick{Type: tick.Trade, Underlying: u, Symbol: symbol, Price: price, Size: size,
			Conditions: conditions}
	}
	cases := []struct {
		name  string
		tick  tick.Tick
		valid bool
	}{
		{"AAPL spot", spot("AAPL", 200), true},
		{"MSFT spot", spot("MSFT", 410), true},
		{"AAPL quote", quote("AAPL", aapl, 5, 5.2), true},
		{"trade of size 0", trade("AAPL", aapl, 5, 0), false},
		{"AAPL trade", trade("AAPL", aapl, 5.2, 3, "AUTO"), true},
		{"SPY oi", tick.Tick{Type: tick.OpenInterest, Underlying: "SPY", Symbol: spy,
			OpenInterest: 9}, true},
		{"spot without price", spot("SPY", 0), false},
		{"MSFT trade", trade("MSFT", msft, 3, 1), true},
		{"quote with bid above ask", quote("MSFT", msft, 4, 3), false},
		{"symbol of another underlying", trade("SPY", aapl, 1, 1), false},
		{"AAPL second trade", trade("AAPL", aapl, 5.3, 4), true},
		{"SPY spot", spot("SPY", 600), true},
	}

	// TS numbers the ticks so the consumer can tell their order apart.
	var want []tick.Tick
	wantTypes := make(map[tick.Type]float64)
	for i, c := range cases {
		tk := c.tick
		tk.TS = readAt.Add(-time.Minute).UnixNano() + int64(i)
		if err := pipe.Tick(context.Background(), &tk, 0); err != nil {
			t.Fatalf("Tick(%s) = %v, want nil: a bad tick must not stop the feed", c.name, err)
		}
		if c.valid {
			want = append(want, tk)
			wantTypes[tk.Type]++
		}
	}
	flush(t, cl)
	invalid := len(cases) - len(want)

	got := consumeAll(t, brokers, len(want))
	if n := endOffsetSum(t, cl); n != int64(len(want)) {
		t.Errorf("topic holds %d records, want %d: rejected ticks must not be produced",
			n, len(want))
	}
	checkRecords(t, got, want)

	waitFor(t, "every produced tick acknowledged", func() bool {
		return testutil.ToFloat64(m.Produced) == float64(len(want))
	})
	if n := testutil.ToFloat64(m.Rejected.WithLabelValues("invalid")); n != float64(invalid) {
		t.Errorf("rejected{reason=invalid} = %v, want %d", n, invalid)
	}
	if n := log.Count("warn", "input rejected"); n != invalid {
		t.Errorf("logged %d rejections, want %d", n, invalid)
	}
	for typ, n := range wantTypes {
		if got := testutil.ToFloat64(m.Ticks.WithLabelValues(string(typ))); got != n {
			t.Errorf("ticks{type=%q} = %v, want %v", typ, got, n)
		}
	}
	if n := testutil.ToFloat64(m.ProduceErrors); n != 0 {
		t.Errorf("produce errors = %v, want 0", n)
	}
}

// checkRecords compares consumed records with the ticks that were produced:
// each record decodes to its tick, stamped and keyed by its underlying, and
// all ticks of one underlying share a partition in the order they were fed.
func checkRecords(tb testing.TB, got []*kgo.Record, want []tick.Tick) {
	tb.Helper()
	codec, err := tick.NewCodec()
	if err != nil {
		tb.Fatal(err)
	}
	byTS := make(map[int64]tick.Tick)
	for _, w := range want {
		byTS[w.TS] = w
	}
	partitionOf := make(map[string]int32)
	lastTS := make(map[string]int64)
	for _, r := range got {
		var tk tick.Tick
		if err := codec.Decode(r.Value, &tk); err != nil {
			tb.Errorf("record %d/%d does not decode: %v", r.Partition, r.Offset, err)
			continue
		}
		w, ok := byTS[tk.TS]
		delete(byTS, tk.TS)
		if w.Conditions == nil {
			w.Conditions = []string{} // Tick stamps an empty list where none was given
		}
		if !ok || fmt.Sprintf("%+v", tk) != fmt.Sprintf("%+v", w) {
			tb.Errorf("record %d/%d = %+v, want %+v", r.Partition, r.Offset, tk, w)
		}
		if tk.IngestTS != readAt.UnixNano() {
			tb.Errorf("record %d/%d: ingest_ts %d, want the pipeline's clock %d",
				r.Partition, r.Offset, tk.IngestTS, readAt.UnixNano())
		}
		if string(r.Key) != tk.Underlying {
			tb.Errorf("record %d/%d: key %q, want the underlying %q",
				r.Partition, r.Offset, r.Key, tk.Underlying)
		}
		if p, seen := partitionOf[tk.Underlying]; seen && p != r.Partition {
			tb.Errorf("%s ticks in partitions %d and %d, want one", tk.Underlying, p, r.Partition)
		}
		partitionOf[tk.Underlying] = r.Partition
		if tk.TS < lastTS[tk.Underlying] {
			tb.Errorf("%s tick %d came after %d: out of order",
				tk.Underlying, tk.TS, lastTS[tk.Underlying])
		}
		lastTS[tk.Underlying] = tk.TS
	}
	if len(byTS) > 0 {
		tb.Errorf("ticks never consumed: %+v", byTS)
	}
}

// TestPipelineFailsTicksWhenLifeEnds feeds a tick to a topic that does not
// exist, so the record waits for metadata, and ends life: the record fails,
// is counted, and the feed is not told to stop.
func TestPipelineFailsTicksWhenLifeEnds(t *testing.T) {
	t.Parallel()
	brokers := newCluster(t, 1)
	cl := newClient(t, brokers)
	m := NewMetrics(prometheus.NewRegistry())
	log := &testkit.Logs{}
	life, endLife := context.WithCancel(context.Background())
	pipe, err := NewPipeline(life, cl, "missing", m, log)
	if err != nil {
		t.Fatal(err)
	}
	endLife()
	tk := tick.Tick{Type: tick.Spot, TS: readAt.UnixNano(), Underlying: "AAPL", Price: 200}
	if err := pipe.Tick(context.Background(), &tk, 0); err != nil {
		t.Fatalf("Tick = %v, want nil while the feed runs", err)
	}
	waitFor(t, "the tick counted as not produced", func() bool {
		return testutil.ToFloat64(m.ProduceErrors) == 1
	})
	if n := log.Count("warn", "tick not produced"); n != 1 {
		t.Errorf("logged %d produce failures, want 1", n)
	}
	if !log.Contains(context.Canceled.Error()) {
		t.Errorf("the failure does not name the ended context: %v", log.All())
	}
	if n := testutil.ToFloat64(m.Produced); n != 0 {
		t.Errorf("produced = %v, want 0", n)
	}
}

func TestRunFeedRestartsAFailingSource(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		failures int
	}{
		{"healthy", 0},
		{"fails three times", 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := &fakeSource{failures: c.failures}
			m := NewMetrics(prometheus.NewRegistry())
			log := &testkit.Logs{}
			run := runFeed(t, context.Background(), src, m, log, 5, time.Minute)
			if err := run.wait(t); err != nil {
				t.Fatalf("RunFeed = %v, want nil once the feed finishes", err)
			}
			if n := src.calls.Load(); n != int32(c.failures+1) {
				t.Errorf("source ran %d times, want %d", n, c.failures+1)
			}
			if n := testutil.ToFloat64(m.FeedRestarts.WithLabelValues(Primary)); n != float64(c.failures) {
				t.Errorf("restarts = %v, want %d", n, c.failures)
			}
			if n := log.Count("warn", "feed failed; restarting"); n != c.failures {
				t.Errorf("logged %d restarts, want %d", n, c.failures)
			}
			if n := log.Count("info", "feed finished"); n != 1 {
				t.Errorf("logged %d feed ends, want 1", n)
			}
			if n := testutil.ToFloat64(m.BreakerState.WithLabelValues(Primary)); n != 0 {
				t.Errorf("breaker state = %v, want 0 (closed): %d failures stay under 5",
					n, c.failures)
			}
		})
	}
}

func TestRunFeedOpensTheBreaker(t *testing.T) {
	t.Parallel()
	src := &fakeSource{failures: -1}
	m := NewMetrics(prometheus.NewRegistry())
	log := &testkit.Logs{}
	// The first retry after the trip comes 100 to 200 ms later, well inside
	// the cool-down, so at least one attempt meets the open breaker and must
	// not run the source or count as a restart.
	run := runFeed(t, context.Background(), src, m, log, 2, 300*time.Millisecond)

	waitFor(t, "the breaker to open", func() bool {
		return testutil.ToFloat64(m.BreakerState.WithLabelValues(Primary)) == 2
	})
	if n := src.calls.Load(); n < 2 {
		t.Errorf("breaker opened after %d failures, want 2", n)
	}
	// After the cool-down one probe goes through; it fails and the breaker
	// opens again, so a dead upstream keeps being tried, but gently.
	waitFor(t, "a failed probe to open the breaker again", func() bool {
		return log.Contains("from half-open to open")
	})
	run.cancel()
	if err := run.wait(t); err != nil {
		t.Errorf("RunFeed = %v, want nil after cancellation", err)
	}
	// The last failure may not be counted if the cancellation came between
	// the run and the count.
	calls, restarts := float64(src.calls.Load()), testutil.ToFloat64(m.FeedRestarts.WithLabelValues(Primary))
	if restarts > calls || restarts < calls-1 {
		t.Errorf("%v restarts for %v failed runs: only runs of the source count", restarts, calls)
	}
	if !log.Contains("from closed to open") {
		t.Errorf("no warning when the breaker opened: %v", log.All())
	}
}

// TestRunFeedStopsOnCancel runs alone (not parallel), so the goroutines it
// checks for are its own.
func TestRunFeedStopsOnCancel(t *testing.T) {
	cases := []struct {
		name string
		src  *fakeSource
		// running reports when RunFeed is in the state it is cancelled in.
		running func(src *fakeSource, log *testkit.Logs) bool
	}{
		{"while the source runs", &fakeSource{block: true},
			func(src *fakeSource, _ *testkit.Logs) bool { return src.calls.Load() == 1 }},
		{"while waiting to restart", &fakeSource{failures: -1},
			func(_ *fakeSource, log *testkit.Logs) bool {
				return log.Count("warn", "feed failed; restarting") > 0
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			m := NewMetrics(prometheus.NewRegistry())
			log := &testkit.Logs{}
			run := runFeed(t, context.Background(), c.src, m, log, 5, time.Minute)
			waitFor(t, c.name, func() bool { return c.running(c.src, log) })
			start := time.Now()
			run.cancel()
			if err := run.wait(t); err != nil {
				t.Errorf("RunFeed = %v, want nil after cancellation", err)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("RunFeed took %s to return after cancellation", took)
			}
			if log.Count("info", "feed finished") != 0 {
				t.Error("a cancelled feed was logged as finished")
			}
			goleak.VerifyNone(t, ignore)
		})
	}
}

// fakeSource fails its first failures runs (all of them if negative), then
// finishes; with block it instead runs until ctx ends.
type fakeSource struct {
	failures int
	block    bool
	calls    atomic.Int32
}

func (s *fakeSource) Name() string { return "fake" }

func (s *fakeSource) Run(ctx context.Context, _ feed.Sink) error {
	n := int(s.calls.Add(1))
	switch {
	case s.block:
		<-ctx.Done()
		return ctx.Err()
	case s.failures < 0 || n <= s.failures:
		return errors.New("fake: upstream down")
	}
	return nil
}

// nopSink is never called by fakeSource; RunFeed only passes it through.
type nopSink struct{}

func (nopSink) Tick(context.Context, *tick.Tick, int64) error { return nil }
func (nopSink) Reject(string, error)                          {}

// feedRun is RunFeed running in its own goroutine.
type feedRun struct {
	cancel   context.CancelFunc
	done     chan error
	err      error
	returned bool // wait saw RunFeed return; only the test goroutine touches it
}

// runFeed starts RunFeed under a child of ctx, ended at the latest when the
// test ends.
func runFeed(tb testing.TB, ctx context.Context, src feed.Source, m *Metrics, log Logger,
	tripAfter uint32, coolDown time.Duration) *feedRun {
	tb.Helper()
	ctx, cancel := context.WithCancel(ctx)
	r := &feedRun{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- RunFeed(ctx, src, nopSink{}, m, log, tripAfter, coolDown) }()
	tb.Cleanup(func() {
		r.cancel()
		r.wait(tb)
	})
	return r
}

// wait returns what RunFeed returned, failing if it does not return in time.
func (r *feedRun) wait(tb testing.TB) error {
	tb.Helper()
	if r.returned {
		return r.err
	}
	select {
	case r.err = <-r.done:
		r.returned = true
	case <-time.After(waitLimit):
		tb.Fatalf("RunFeed did not return within %s", waitLimit)
	}
	return r.err
}

func newCluster(tb testing.TB, partitions int32) []string {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		tb.Fatalf("kfake: %v", err)
	}
	tb.Cleanup(c.Close)
	return c.ListenAddrs()
}

func newClient(tb testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	tb.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cl.Close)
	return cl
}

func flush(tb testing.TB, cl *kgo.Client) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := cl.Flush(ctx); err != nil {
		tb.Fatalf("flush: %v", err)
	}
}

// consumeAll reads the topic from the start until it has n records.
func consumeAll(tb testing.TB, brokers []string, n int) []*kgo.Record {
	tb.Helper()
	cl := newClient(tb, brokers, kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var got []*kgo.Record
	for len(got) < n {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			tb.Fatalf("consumed %d of %d records before the deadline", len(got), n)
		}
		fetches.EachError(func(_ string, p int32, err error) {
			tb.Errorf("fetch partition %d: %v", p, err)
		})
		got = append(got, fetches.Records()...)
	}
	return got
}

func endOffsetSum(tb testing.TB, cl *kgo.Client) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		tb.Fatalf("list end offsets: %v", err)
	}
	var n int64
	listed.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	testkit.Eventually(tb, waitLimit, what, cond)
}

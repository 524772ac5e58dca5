package hub_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
	"github.com/liveflow/liveflow/services/edge/internal/hub/hubtest"
)

// TestMain fails the package if a reader goroutine outlives its hub.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const shards = 4

// eachFanout runs test once per fan-out mode, as parallel subtests named
// after the mode: every guarantee of the hub holds in both.
func eachFanout(t *testing.T, test func(t *testing.T, f hub.Fanout)) {
	for _, f := range []hub.Fanout{hub.FanoutXRead, hub.FanoutPubSub} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			test(t, f)
		})
	}
}

func TestDeliversOncePerSubscriber(t *testing.T) {
	tests := []struct {
		name    string
		adds    [][]string
		removes [][]string
		want    int // copies of each AAPL event the subscriber receives
	}{
		{name: "one subscription", adds: [][]string{{"AAPL"}}, want: 1},
		{name: "two subscriptions of the same underlying",
			adds: [][]string{{"AAPL"}, {"AAPL", "MSFT"}}, want: 1},
		{name: "one subscription naming it twice", adds: [][]string{{"AAPL", "AAPL"}}, want: 1},
		{name: "one of two subscriptions removed",
			adds: [][]string{{"AAPL"}, {"AAPL"}}, removes: [][]string{{"AAPL"}}, want: 1},
		{name: "both subscriptions removed",
			adds: [][]string{{"AAPL"}, {"AAPL", "MSFT"}}, removes: [][]string{{"AAPL"}, {"AAPL", "MSFT"}}},
	}
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				testDeliversOnce(t, f, tt.adds, tt.removes, tt.want)
			})
		}
	})
}

func testDeliversOnce(t *testing.T, f hub.Fanout, adds, removes [][]string, want int) {
	e := newHub(t, f)
	sub, probe := &recorder{}, &recorder{}
	e.add(t, probe, "AAPL")
	for _, us := range adds {
		e.add(t, sub, us...)
	}
	for _, us := range removes {
		e.hub.Remove(sub, us)
	}

	e.xadd(t, "AAPL", `{"n":"x"}`)
	e.xadd(t, "AAPL", `{"n":"fence"}`)
	// The hub hands an entry to all its subscribers in one call, so once
	// the probe has the fence, sub has had every chance too.
	probe.waitFor(t, "fence")
	if got := sub.count("x"); got != want {
		t.Errorf("subscriber got the event %d times, want %d: %q", got, want, sub.all())
	}
	// Deliveries are counted after they are handed over.
	deliveries := float64(2 * (1 + want))
	eventually(t, fmt.Sprintf("deliveries reach %v", deliveries), func() bool {
		return testutil.ToFloat64(e.m.Deliveries) == deliveries
	})
	if got := testutil.ToFloat64(e.m.Entries); got != 2 {
		t.Errorf("entries = %v, want 2", got)
	}
}

func TestRoutesOnlySubscribedUnderlyings(t *testing.T) {
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		e := newHub(t, f)
		same := symbolWhere(t, func(s int) bool { return s == stream.Shard("AAPL", shards) }, "AAPL")
		other := symbolWhere(t, func(s int) bool { return s != stream.Shard("AAPL", shards) }, "AAPL")
		sub, probe := &recorder{}, &recorder{}
		e.add(t, sub, "AAPL")
		e.add(t, probe, same, other)

		e.xadd(t, same, `{"n":"same-shard"}`)
		e.xadd(t, other, `{"n":"other-shard"}`)
		e.xadd(t, "AAPL", `{"n":"mine"}`)
		probe.waitFor(t, "same-shard")
		probe.waitFor(t, "other-shard")
		sub.waitFor(t, "mine")
		if got := sub.all(); len(got) != 1 {
			t.Errorf("subscriber of AAPL got %q, want only its own event", got)
		}
	})
}

// A subscriber whose filters took none of a read's events is not woken.
func TestFlushesOnlySubscribersThatQueued(t *testing.T) {
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		e := newHub(t, f)
		taker, refuser := &recorder{}, &refusing{}
		e.add(t, taker, "AAPL")
		e.add(t, refuser, "AAPL")

		e.xadd(t, "AAPL", `{"n":"one"}`)
		e.xadd(t, "AAPL", `{"n":"two"}`)
		taker.waitFor(t, "two")
		eventually(t, "the refusing subscriber to be offered both events", func() bool {
			return refuser.offered.Load() == 2
		})
		if n := refuser.flushes.Load(); n != 0 {
			t.Errorf("a subscriber that queued nothing was flushed %d times", n)
		}
		if n := taker.flushes.Load(); n == 0 {
			t.Error("a subscriber that queued events was never flushed")
		}
	})
}

// refusing is a Subscriber whose filters want nothing.
type refusing struct {
	offered, flushes atomic.Int64
}

func (r *refusing) Send(*hub.Event) bool {
	r.offered.Add(1)
	return false
}

func (r *refusing) Flush() { r.flushes.Add(1) }

func TestMessageCarriesShardAndEntryID(t *testing.T) {
	tests := []struct {
		name, event string
		want        func(id string) string
	}{
		{"fields", `{"n":"a","px":1.5}`,
			func(id string) string { return `{"id":"` + id + `","n":"a","px":1.5}` }},
		{"nested", `{"n":"b","legs":[{"k":1},{"k":2}]}`,
			func(id string) string { return `{"id":"` + id + `","n":"b","legs":[{"k":1},{"k":2}]}` }},
		{"empty object", `{}`,
			func(id string) string { return `{"id":"` + id + `"}` }},
	}
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		e := newHub(t, f)
		sub := &recorder{}
		e.add(t, sub, "AAPL")
		shard := stream.Shard("AAPL", shards)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				entry := e.xadd(t, "AAPL", tt.event)
				got := sub.waitLen(t, i+1)[i]
				if want := tt.want(fmt.Sprintf("%d-%s", shard, entry)); got != want {
					t.Errorf("message\n got %s\nwant %s", got, want)
				}
			})
		}
	})
}

func TestSkipsMalformedEntries(t *testing.T) {
	tests := []struct {
		name   string
		values []any
	}{
		{"no underlying", []any{"e", `{"n":1}`}},
		{"empty underlying", []any{"u", "", "e", `{"n":1}`}},
		{"no event", []any{"u", "AAPL"}},
		{"empty event", []any{"u", "AAPL", "e", ""}},
		{"event is an array", []any{"u", "AAPL", "e", `[{"n":1}]`}},
		{"event is a string", []any{"u", "AAPL", "e", `"n"`}},
		{"event is a lone brace", []any{"u", "AAPL", "e", `{`}},
		{"event is truncated", []any{"u", "AAPL", "e", `{"n":1,"px":`}},
		{"event is not JSON", []any{"u", "AAPL", "e", `{n:1}`}},
	}
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		e := newHub(t, f)
		sub := &recorder{}
		e.add(t, sub, "AAPL")
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// Written without a notification: a pubsub reader finds it
				// when the fence's notification shows the gap.
				err := e.rdb.XAdd(context.Background(), &redis.XAddArgs{
					Stream: stream.Key(stream.Shard("AAPL", shards)), Values: tt.values,
				}).Err()
				if err != nil {
					t.Fatal(err)
				}
				fence := fmt.Sprintf("fence-%d", i)
				e.xadd(t, "AAPL", `{"n":"`+fence+`"}`)
				got := sub.waitFor(t, fence)
				if len(got) != i+1 {
					t.Errorf("subscriber got %q; the malformed entry was delivered", got[i:])
				}
				if got := testutil.ToFloat64(e.m.BadEntries); got != float64(i+1) {
					t.Errorf("bad entries = %v, want %d", got, i+1)
				}
			})
		}
		if got := e.log.Count("warn", "skipping malformed stream entry"); got != len(tests) {
			t.Errorf("logged %d malformed entries, want %d", got, len(tests))
		}
	})
}

func TestReaderStartsAtStreamEnd(t *testing.T) {
	tests := []struct {
		name  string
		older int // entries in the stream before the first Add
	}{
		{"stream with entries", 3},
		{"no stream yet", 0},
	}
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newHub(t, f)
				for i := range tt.older {
					e.xadd(t, "AAPL", fmt.Sprintf(`{"n":"old-%d"}`, i))
				}
				sub := &recorder{}
				e.add(t, sub, "AAPL")
				e.xadd(t, "AAPL", `{"n":"new"}`)
				got := sub.waitFor(t, "new")
				if len(got) != 1 {
					t.Errorf("subscriber got %q, want only the entry written after Add", got)
				}
			})
		}
	})
}

// TestAddJoinsHistoryExactly adds subscribers while entries pour in and
// checks the promise of Add's positions: history up to the position joined
// to what the subscriber then receives is the whole stream, without a gap
// or a repeat.
func TestAddJoinsHistoryExactly(t *testing.T) {
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		e := newHub(t, f)
		w := newWriter(t, e.rdb, "AAPL")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.run(ctx, 3, 0, 0) }()

		shard := stream.Shard("AAPL", shards)
		subs := make([]*recorder, 8)
		from := make([]string, len(subs))
		for i := range subs {
			w.waitFor(t, int64(50*(i+1))) // let the stream grow between Adds
			subs[i] = &recorder{}
			pos, err := e.hub.Add(context.Background(), subs[i], []string{"AAPL"})
			if err != nil {
				t.Fatal(err)
			}
			from[i] = pos[shard]
		}
		w.waitFor(t, 500)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		fence := e.xadd(t, "AAPL", `{"n":"fence"}`)
		for i, sub := range subs {
			sub.waitFor(t, "fence")
			want := streamIDs(t, e.rdb, shard, from[i], fence)
			if got := sub.entryIDs(); !equalIDs(got, want) {
				t.Errorf("subscriber %d added at %s: got %d entries, want the %d after it:\n%s",
					i, from[i], len(got), len(want), diffIDs(got, want))
			}
		}
	})
}

func TestCloseWaitsForReaders(t *testing.T) {
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		e := newHub(t, f)
		sub := &recorder{}
		want := make(map[int]bool)
		for _, u := range []string{"AAPL", "MSFT", "TSLA", "NVDA", "SPY"} {
			e.add(t, sub, u)
			want[stream.Shard(u, shards)] = true
		}
		if got := testutil.ToFloat64(e.m.Readers); got != float64(len(want)) {
			t.Errorf("readers = %v, want one per shard in use (%d)", got, len(want))
		}

		start := time.Now()
		e.hub.Close()
		if took := time.Since(start); took > 4*time.Second {
			t.Errorf("Close took %s; a reader ignored it", took)
		}
		if got := testutil.ToFloat64(e.m.Readers); got != 0 {
			t.Errorf("readers after Close = %v, want 0", got)
		}
	})
}

func TestAddGivesUpWhenRedisIsDown(t *testing.T) {
	// What a reader reports when it cannot start, per mode.
	warning := map[hub.Fanout]string{
		hub.FanoutXRead:  "cannot find the end of a shard stream",
		hub.FanoutPubSub: "cannot subscribe to a shard channel",
	}
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		port, err := localredis.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(&redis.Options{
			Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DialerRetries: 1,
		})
		t.Cleanup(func() { rdb.Close() })
		m := hub.NewMetrics(prometheus.NewRegistry())
		log := &testkit.Logs{}
		h := hub.New(rdb, shards, log, m, hub.WithFanout(f))
		t.Cleanup(h.Close)

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := h.Add(ctx, &recorder{}, []string{"AAPL"}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Add with Redis down = %v, want %v", err, context.DeadlineExceeded)
		}
		eventually(t, "the failed start is counted and logged", func() bool {
			return testutil.ToFloat64(m.RedisErrors) >= 1 && log.Count("warn", warning[f]) >= 1
		})
	})
}

func TestReaderSurvivesRedisRestart(t *testing.T) {
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		port, err := localredis.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		srv := startRedis(t, port)
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), DialerRetries: 1})
		t.Cleanup(func() { rdb.Close() })
		m := hub.NewMetrics(prometheus.NewRegistry())
		var mu sync.Mutex
		var changes []hub.Health
		h := hub.New(rdb, shards, &testkit.Logs{}, m, hub.WithFanout(f), hub.WithHealth(func(hl hub.Health) {
			mu.Lock()
			defer mu.Unlock()
			changes = append(changes, hl)
		}))
		t.Cleanup(func() { hubtest.Close(t, h, rdb) })
		e := &hubEnv{rdb: rdb, hub: h, m: m}
		healthChanges := func() []hub.Health {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(changes)
		}

		sub := &recorder{}
		e.add(t, sub, "AAPL")
		e.xadd(t, "AAPL", `{"n":"before"}`)
		sub.waitFor(t, "before")
		if got := healthChanges(); len(got) != 0 || !h.Health().OK {
			t.Fatalf("health changes %+v before any failure, want none", got)
		}

		srv.Kill()
		eventually(t, "the lost connection is counted and reported", func() bool {
			got := healthChanges()
			return testutil.ToFloat64(m.RedisErrors) >= 1 && len(got) == 1 && !got[0].OK && got[0].Reason != ""
		})
		if h.Health().OK {
			t.Error("Health() is OK while Redis is down")
		}
		startRedis(t, port)
		eventually(t, "the recovery is reported", func() bool {
			got := healthChanges()
			return len(got) == 2 && got[1].OK && h.Health().OK
		})
		// The restarted server is empty; its entry ids are still later than
		// the reader's last one because they start at the current time.
		e.xadd(t, "AAPL", `{"n":"after"}`)
		if got := sub.waitFor(t, "after"); len(got) != 2 {
			t.Errorf("subscriber got %q, want the entries before and after the restart", got)
		}
	})
}

// TestIdleReadersStop checks that a shard's reader stops once no
// subscription needs it, and that a later subscriber gets a new one.
func TestIdleReadersStop(t *testing.T) {
	eachFanout(t, func(t *testing.T, f hub.Fanout) {
		e := newHub(t, f)
		r := &recorder{}
		e.add(t, r, "AAPL")
		e.hub.Remove(r, []string{"AAPL"})
		eventually(t, "the reader of an unwatched shard stops", func() bool {
			return testutil.ToFloat64(e.m.Readers) == 0
		})

		e.add(t, r, "AAPL")
		e.xadd(t, "AAPL", `{"n":"after"}`)
		r.waitFor(t, "after")
	})
}

// hubEnv is a hub reading a private redis-server, or a private Redis
// Cluster when LIVEFLOW_TEST_REDIS=cluster (see redistest.Universal).
type hubEnv struct {
	rdb redis.UniversalClient
	hub *hub.Hub
	m   *hub.Metrics
	log *testkit.Logs
}

func newHub(t testing.TB, f hub.Fanout) *hubEnv {
	t.Helper()
	rdb := redistest.Universal(t)
	e := &hubEnv{rdb: rdb, m: hub.NewMetrics(prometheus.NewRegistry()), log: &testkit.Logs{}}
	e.hub = hub.New(rdb, shards, e.log, e.m, hub.WithFanout(f))
	t.Cleanup(func() { hubtest.Close(t, e.hub, rdb) })
	return e
}

func startRedis(t testing.TB, port int) *localredis.Server {
	t.Helper()
	s, err := localredis.Start(context.Background(), localredis.Options{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (e *hubEnv) add(t testing.TB, s hub.Subscriber, underlyings ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := e.hub.Add(ctx, s, underlyings); err != nil {
		t.Fatalf("Add(%v): %v", underlyings, err)
	}
}

// xadd writes an event as the scorer does and returns the entry id.
func (e *hubEnv) xadd(t testing.TB, underlying, event string) string {
	t.Helper()
	return hubtest.XAdd(t, e.rdb, shards, underlying, event)
}

// symbolWhere returns a symbol, other than except, whose shard satisfies ok.
func symbolWhere(t testing.TB, ok func(shard int) bool, except string) string {
	t.Helper()
	for i := range 1000 {
		if s := fmt.Sprintf("S%d", i); s != except && ok(stream.Shard(s, shards)) {
			return s
		}
	}
	t.Fatal("no symbol in S0..S999 lands on the wanted shard")
	return ""
}

// recorder is a Subscriber that keeps what it is sent.
type recorder struct {
	mu      sync.Mutex
	msgs    []string
	flushes atomic.Int64
}

func (r *recorder) Send(ev *hub.Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, string(ev.Msg))
	return true
}

func (r *recorder) Flush() { r.flushes.Add(1) }

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs...)
}

// count returns how many messages carry the event marker n.
func (r *recorder) count(n string) int {
	c := 0
	for _, m := range r.all() {
		if strings.Contains(m, `"n":"`+n+`"`) {
			c++
		}
	}
	return c
}

// entryIDs returns the stream entry ids of the messages, in order.
func (r *recorder) entryIDs() []string {
	var ids []string
	for _, m := range r.all() {
		// {"id":"<shard>-<ms>-<seq>",...
		id, _, _ := strings.Cut(strings.TrimPrefix(m, `{"id":"`), `"`)
		_, entry, _ := strings.Cut(id, "-")
		ids = append(ids, entry)
	}
	return ids
}

// waitFor waits for the event marked n and returns every message so far.
func (r *recorder) waitFor(t testing.TB, n string) []string {
	t.Helper()
	eventually(t, fmt.Sprintf("event %q arrives", n), func() bool { return r.count(n) > 0 })
	return r.all()
}

// waitLen waits for at least n messages and returns them.
func (r *recorder) waitLen(t testing.TB, n int) []string {
	t.Helper()
	eventually(t, fmt.Sprintf("%d messages arrive", n), func() bool { return len(r.all()) >= n })
	return r.all()
}

// eventually polls cond until it holds, failing the test after 5 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 5*time.Second, what, cond)
}

func TestHistorySkipsOtherUnderlyings(t *testing.T) {
	e := newHub(t, hub.FanoutXRead)
	shard := stream.Shard("AAPL", shards)
	other := symbolWhere(t, func(s int) bool { return s == shard }, "AAPL")

	start := e.xadd(t, "AAPL", `{"n":"a0"}`)
	var want []string
	for i := range 3 {
		e.xadd(t, other, fmt.Sprintf(`{"n":"o%d"}`, i))
		want = append(want, e.xadd(t, "AAPL", fmt.Sprintf(`{"n":"a%d"}`, i+1)))
	}
	end := want[len(want)-1]
	aapl := func(u string) bool { return u == "AAPL" }

	evs, complete, err := e.hub.Range(context.Background(), shard, start, end, 100, aapl)
	if err != nil {
		t.Fatal(err)
	}
	if got := entries(evs); !complete || !equalIDs(got, want) {
		t.Errorf("Range kept %v (complete %v), want %v complete", got, complete, want)
	}

	// The limit counts the entries read, those skipped too: six follow
	// start, so a limit of six is a range that may go on.
	if _, complete, err := e.hub.Range(context.Background(), shard, start, end, 6, aapl); err != nil || complete {
		t.Errorf("Range with the limit reached: complete %v, %v; want false", complete, err)
	}

	evs, err = e.hub.Before(context.Background(), shard, end, 4, aapl)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := entries(evs), []string{want[2], want[1]}; !equalIDs(got, want) {
		t.Errorf("Before kept %v, want %v", got, want)
	}
	if n := testutil.ToFloat64(e.m.BadEntries); n != 0 {
		t.Errorf("%v entries counted as malformed", n)
	}
}

// A long history comes page by page, in order, and the limit still holds.
func TestRangeReadsPageByPage(t *testing.T) {
	e := newHub(t, hub.FanoutXRead)
	shard := stream.Shard("AAPL", shards)
	ctx := context.Background()
	const n = 4100 // two full pages and a part
	cmds, err := e.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range n {
			p.XAdd(ctx, &redis.XAddArgs{Stream: stream.Key(shard), Values: []any{
				stream.FieldUnderlying, "AAPL", stream.FieldEvent, fmt.Sprintf(`{"n":"e%d"}`, i)}})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i, c := range cmds {
		ids[i] = c.(*redis.StringCmd).Val()
	}

	evs, complete, err := e.hub.Range(ctx, shard, ids[0], ids[n-1], 100_000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := entries(evs); !complete || !equalIDs(got, ids[1:]) {
		t.Errorf("Range over %d entries: %d back (complete %v), want the %d after the first, complete",
			n, len(got), complete, n-1)
	}

	evs, complete, err = e.hub.Range(ctx, shard, ids[0], ids[n-1], 3000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := entries(evs); complete || !equalIDs(got, ids[1:3001]) {
		t.Errorf("Range limited to 3000: %d back (complete %v), want the first 3000, incomplete", len(got), complete)
	}
}

// A resume point older than a stream is complete unless the stream lost
// entries after it.
func TestRangeTellsTrimmedFromYounger(t *testing.T) {
	e := newHub(t, hub.FanoutXRead)
	shard := stream.Shard("AAPL", shards)
	ctx := context.Background()
	var ids []string
	for i := range 10 {
		ids = append(ids, e.xadd(t, "AAPL", fmt.Sprintf(`{"n":"e%d"}`, i)))
	}
	last := ids[len(ids)-1]
	for _, tc := range []struct {
		name, after string
		want        int
		complete    bool
	}{
		// Written before the stream's first entry, as a client's resume
		// point of a shard it named no id for can be.
		{"the stream began after the point", "1-0", 10, true},
		{"within the stream", ids[2], 7, true},
	} {
		evs, complete, err := e.hub.Range(ctx, shard, tc.after, last, 100, nil)
		if err != nil || len(evs) != tc.want || complete != tc.complete {
			t.Errorf("%s: %d events, complete %v, %v; want %d, %v", tc.name, len(evs), complete, err, tc.want, tc.complete)
		}
	}

	// Trimmed to its last five. Redis does not say where trimming stopped,
	// so a point before the oldest entry left counts as incomplete.
	if err := e.rdb.XTrimMaxLen(ctx, stream.Key(shard), 5).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, after string
		complete    bool
	}{
		{"at the oldest entry left", ids[5], true},
		{"trimmed up to the point", ids[4], false},
		{"trimmed past the point", ids[3], false},
		{"the stream began after the point, then was trimmed", "1-0", false},
	} {
		if _, complete, err := e.hub.Range(ctx, shard, tc.after, last, 100, nil); err != nil || complete != tc.complete {
			t.Errorf("%s: complete %v, %v; want %v", tc.name, complete, err, tc.complete)
		}
	}
}

func entries(evs []*hub.Event) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.Entry
	}
	return ids
}

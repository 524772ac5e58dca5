package hub_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newHub(t)
			sub, probe := &recorder{}, &recorder{}
			e.add(t, probe, "AAPL")
			for _, us := range tt.adds {
				e.add(t, sub, us...)
			}
			for _, us := range tt.removes {
				e.hub.Remove(sub, us)
			}

			e.xadd(t, "AAPL", `{"n":"x"}`)
			e.xadd(t, "AAPL", `{"n":"fence"}`)
			// The hub hands an entry to all its subscribers in one call, so
			// once the probe has the fence, sub has had every chance too.
			probe.waitFor(t, "fence")
			if got := sub.count("x"); got != tt.want {
				t.Errorf("subscriber got the event %d times, want %d: %q", got, tt.want, sub.all())
			}
			// Deliveries are counted after they are handed over.
			want := float64(2 * (1 + tt.want))
			eventually(t, fmt.Sprintf("deliveries reach %v", want), func() bool {
				return testutil.ToFloat64(e.m.Deliveries) == want
			})
			if got := testutil.ToFloat64(e.m.Entries); got != 2 {
				t.Errorf("entries = %v, want 2", got)
			}
		})
	}
}

func TestRoutesOnlySubscribedUnderlyings(t *testing.T) {
	t.Parallel()
	e := newHub(t)
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
}

func TestMessageCarriesShardAndEntryID(t *testing.T) {
	t.Parallel()
	e := newHub(t)
	sub := &recorder{}
	e.add(t, sub, "AAPL")
	shard := stream.Shard("AAPL", shards)

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
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry := e.xadd(t, "AAPL", tt.event)
			got := sub.waitLen(t, i+1)[i]
			if want := tt.want(fmt.Sprintf("%d-%s", shard, entry)); got != want {
				t.Errorf("message\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestSkipsMalformedEntries(t *testing.T) {
	t.Parallel()
	e := newHub(t)
	sub := &recorder{}
	e.add(t, sub, "AAPL")

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
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
}

func TestReaderStartsAtStreamEnd(t *testing.T) {
	tests := []struct {
		name  string
		older int // entries in the stream before the first Add
	}{
		{"stream with entries", 3},
		{"no stream yet", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newHub(t)
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
}

func TestCloseWaitsForReaders(t *testing.T) {
	t.Parallel()
	e := newHub(t)
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
}

func TestAddGivesUpWhenRedisIsDown(t *testing.T) {
	t.Parallel()
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
	h := hub.New(rdb, shards, log, m)
	t.Cleanup(h.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := h.Add(ctx, &recorder{}, []string{"AAPL"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Add with Redis down = %v, want %v", err, context.DeadlineExceeded)
	}
	eventually(t, "the failed lookup is counted and logged", func() bool {
		return testutil.ToFloat64(m.RedisErrors) >= 1 && log.Count("warn", "cannot find the end") >= 1
	})
}

func TestReaderSurvivesRedisRestart(t *testing.T) {
	t.Parallel()
	port, err := localredis.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	srv := startRedis(t, port)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	m := hub.NewMetrics(prometheus.NewRegistry())
	h := hub.New(rdb, shards, &testkit.Logs{}, m)
	t.Cleanup(func() { hubtest.Close(t, h, rdb) })
	e := &hubEnv{rdb: rdb, hub: h, m: m}

	sub := &recorder{}
	e.add(t, sub, "AAPL")
	e.xadd(t, "AAPL", `{"n":"before"}`)
	sub.waitFor(t, "before")

	srv.Kill()
	eventually(t, "the lost connection is counted", func() bool {
		return testutil.ToFloat64(m.RedisErrors) >= 1
	})
	startRedis(t, port)
	// The restarted server is empty; its entry ids are still later than
	// the reader's last one because they start at the current time.
	e.xadd(t, "AAPL", `{"n":"after"}`)
	if got := sub.waitFor(t, "after"); len(got) != 2 {
		t.Errorf("subscriber got %q, want the entries before and after the restart", got)
	}
}

// hubEnv is a hub reading a private redis-server.
type hubEnv struct {
	rdb *redis.Client
	hub *hub.Hub
	m   *hub.Metrics
	log *testkit.Logs
}

func newHub(t testing.TB) *hubEnv {
	t.Helper()
	rdb, _ := redistest.Client(t)
	e := &hubEnv{rdb: rdb, m: hub.NewMetrics(prometheus.NewRegistry()), log: &testkit.Logs{}}
	e.hub = hub.New(rdb, shards, e.log, e.m)
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
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Send(ev *hub.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, string(ev.Msg))
}

func (r *recorder) Flush() {}

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

// TestIdleReadersStop checks that a shard's reader stops once no
// subscription needs it, and that a later subscriber gets a new one.
func TestIdleReadersStop(t *testing.T) {
	e := newHub(t)
	r := &recorder{}
	e.add(t, r, "AAPL")
	e.hub.Remove(r, []string{"AAPL"})
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(e.m.Readers) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the reader of an unwatched shard did not stop")
		}
		time.Sleep(20 * time.Millisecond)
	}

	e.add(t, r, "AAPL")
	e.xadd(t, "AAPL", `{"n":"after"}`)
	r.waitFor(t, "after")
}

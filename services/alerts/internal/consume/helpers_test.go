package consume

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"golang.org/x/time/rate"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
	"github.com/liveflow/liveflow/services/alerts/internal/rules"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testShards = 4

var secret = "0123456789abcdef0123456789abcdef"

// receiver is a webhook receiver that de-duplicates by idempotency key, as
// the documentation asks receivers to do. It can hold requests, to catch an
// instance mid-delivery.
type receiver struct {
	*httptest.Server
	t *testing.T

	mu       sync.Mutex
	requests map[string]int // idempotency key -> requests received
	bodies   map[string][]byte
	order    []string // keys in order of first receipt
	bad      []string // requests that failed verification
	holding  bool
	held     int           // requests waiting while holding
	release  chan struct{} // closed to let held requests go
	status   int           // answer; 0 means 204
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, requests: map[string]int{}, bodies: map[string][]byte{}, release: make(chan struct{})}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.mu.Lock()
		if r.holding {
			r.holding = false
			close(r.release)
		}
		r.mu.Unlock()
		r.Close()
	})
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	key := req.Header.Get(deliver.HeaderIdempotencyKey)
	r.mu.Lock()
	if req.Header.Get(deliver.HeaderSignature) != "" {
		if err := deliver.Verify(secret, req.Header.Get(deliver.HeaderTimestamp),
			req.Header.Get(deliver.HeaderSignature), body, time.Now(), time.Minute); err != nil {
			r.bad = append(r.bad, key+": "+err.Error())
		}
	}
	if r.requests[key] == 0 {
		r.order = append(r.order, key)
		r.bodies[key] = body
	}
	r.requests[key]++
	holding, release, status := r.holding, r.release, r.status
	if holding {
		r.held++
	}
	r.mu.Unlock()
	if holding {
		select {
		case <-release:
		case <-req.Context().Done():
			return // the sender gave up: no answer
		}
	}
	if status == 0 {
		status = http.StatusNoContent
	}
	w.WriteHeader(status)
}

// hold makes the receiver keep requests waiting until unhold.
func (r *receiver) hold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holding, r.held, r.release = true, 0, make(chan struct{})
}

func (r *receiver) unhold() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.holding {
		r.holding = false
		close(r.release)
	}
}

func (r *receiver) heldCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held
}

// unique returns the keys received, each once: what a de-duplicating
// receiver processed.
func (r *receiver) unique() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]bool, len(r.requests))
	for k := range r.requests {
		out[k] = true
	}
	return out
}

// repeats returns the keys received more than once.
func (r *receiver) repeats() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for k, n := range r.requests {
		if n > 1 {
			out = append(out, k)
		}
	}
	return out
}

// instance is one alerts instance run as goroutines with a context of its
// own; stop ends it the way its ShutdownGrace says.
type instance struct {
	name    string
	live    *rules.Live
	c       *Consumer
	m       *Metrics
	dm      *deliver.Metrics
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

type instanceConfig struct {
	consumer Config
	deliver  deliver.Config
}

// startInstance starts an instance on rdb. Instances share the test's
// client, as they could share a connection pool; what one leaves pending
// only its own Consumer knows.
func startInstance(t testing.TB, rdb redis.UniversalClient, name string, cfg instanceConfig) *instance {
	t.Helper()
	logs := &testkit.Logs{}
	live := rules.NewLive(rules.NewStore(rdb), nil, logs)
	if err := live.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.deliver.AllowPrivate = true
	if cfg.deliver.Rates == nil {
		cfg.deliver.Rates = map[string]rate.Limit{deliver.Webhook: 1e6, deliver.Slack: 1e6, deliver.Discord: 1e6}
	}
	dm := deliver.NewMetrics(nil)
	disp := deliver.New(cfg.deliver, dm, logs)
	cc := cfg.consumer
	cc.Shards, cc.Name = testShards, name
	if cc.ClaimIdle == 0 {
		cc.ClaimIdle = 500 * time.Millisecond
	}
	if cc.Block == 0 {
		cc.Block = 100 * time.Millisecond
	}
	m := NewMetrics(nil)
	c, err := New(rdb, cc, live, disp, m, logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{name: name, live: live, c: c, m: m, dm: dm, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(in.done)
		if err := c.Run(ctx); err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
	}()
	t.Cleanup(in.stop)
	return in
}

// stop ends the instance and waits for it.
func (in *instance) stop() {
	if in.stopped {
		return
	}
	in.stopped = true
	in.cancel()
	<-in.done
}

// addRule stores a rule; instances see it once they reload.
func addRule(t testing.TB, rdb redis.UniversalClient, id string, f filter.Filter, dest deliver.Destination) {
	t.Helper()
	if dest.Type == deliver.Webhook {
		dest.Secret = secret
	}
	r := rules.Rule{ID: id, Owner: "tester", Name: "rule " + id, Filter: f, Destination: dest,
		Created: time.Now(), Updated: time.Now()}
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	if _, err := rules.NewStore(rdb).Create(context.Background(), r, 100); err != nil {
		t.Fatal(err)
	}
}

// event is a scored event as the scorer writes it.
func event(n int, underlying, kind string, score int32) flow.Event {
	ev := flow.Event{
		Source: flow.Source{Partition: 1, Offset: int64(n)}, Kind: kind, TS: time.Now().UnixNano(),
		Underlying: underlying, Symbol: fmt.Sprintf("%-6s261218C00200000", underlying), Expiry: "2026-12-18",
		DTE: 15, Strike: 200, Right: "C", Side: flow.SideAsk, Sentiment: flow.Bullish, Price: 2.4,
		Size: int64(10 + n), Premium: float64(10+n) * 240, Score: score,
	}
	ev.Finish()
	return ev
}

// add appends an event to its shard stream and returns its event id.
func add(t testing.TB, rdb redis.UniversalClient, ev flow.Event) string {
	t.Helper()
	b, err := ev.JSON()
	if err != nil {
		t.Fatal(err)
	}
	shard := stream.Shard(ev.Underlying, testShards)
	id, err := rdb.XAdd(context.Background(), &redis.XAddArgs{
		Stream: stream.Key(shard), Values: []any{stream.FieldUnderlying, ev.Underlying, stream.FieldEvent, b},
	}).Result()
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(shard) + "-" + id
}

// pendingTotal counts the entries of every shard still pending in the group.
func pendingTotal(t testing.TB, rdb redis.UniversalClient) int64 {
	t.Helper()
	var n int64
	for shard := range testShards {
		p, err := rdb.XPending(context.Background(), stream.Key(shard), "liveflow-alerts").Result()
		if err != nil {
			t.Fatal(err)
		}
		n += p.Count
	}
	return n
}

// deadLetters returns the dead-letter stream's records.
func deadLetters(t testing.TB, rdb redis.UniversalClient) []map[string]any {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), "alerts:dead", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		out[i] = m.Values
	}
	return out
}

// startRedis starts a private server, or a cluster with
// LIVEFLOW_TEST_REDIS=cluster.
func startRedis(t testing.TB) redis.UniversalClient {
	rdb := redistest.Universal(t)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return rdb
}

package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/pkg/wsclient"
	"github.com/liveflow/liveflow/services/edge/internal/edge"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
	"github.com/liveflow/liveflow/services/edge/internal/hub/hubtest"
)

// TestMain fails the package if a session, hub reader or connection
// goroutine outlives its test.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	shards  = 4
	timeout = 5 * time.Second // bound of every wait; tests normally take milliseconds
)

// env is an edge server on httptest, reading a private redis-server.
type env struct {
	rdb *redis.Client
	srv *edge.Server
	m   *edge.Metrics
	ts  *httptest.Server
	url string // of /ws
}

func newEdge(t testing.TB, limits edge.Limits, origins ...string) *env {
	t.Helper()
	return newEdgeWith(t, edge.Config{Limits: limits, Origins: origins})
}

// newEdgeWith is newEdge with the whole server configuration.
func newEdgeWith(t testing.TB, cfg edge.Config) *env {
	t.Helper()
	rdb, _ := redistest.Client(t)
	h := hub.New(rdb, shards, nopLog{}, hub.NewMetrics(prometheus.NewRegistry()))
	t.Cleanup(func() { hubtest.Close(t, h, rdb) })

	e := &env{rdb: rdb, m: edge.NewMetrics(prometheus.NewRegistry())}
	e.srv = edge.NewServer(h, cfg, e.m)
	mux := http.NewServeMux()
	e.srv.Register(mux)
	e.ts = httptest.NewServer(mux)
	t.Cleanup(e.ts.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		e.srv.Shutdown(ctx, 0)
	})
	e.url = "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/ws"
	return e
}

// dial connects a client, dropped at cleanup.
func (e *env) dial(t testing.TB) *wsclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := wsclient.Dial(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Conn().CloseNow() })
	return c
}

// xadd writes an event for underlying as the scorer does.
func (e *env) xadd(t testing.TB, underlying, event string) string {
	t.Helper()
	return hubtest.XAdd(t, e.rdb, shards, underlying, event)
}

// send writes one raw text frame.
func send(t testing.TB, c *wsclient.Client, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.Conn().Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("send %s: %v", frame, err)
	}
}

// read returns the next frame.
func read(t testing.TB, c *wsclient.Client) wsclient.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return m
}

// subscribe subscribes and requires the very next frame to be the reply.
func subscribe(t testing.TB, c *wsclient.Client, id string, symbols ...string) wsclient.Message {
	t.Helper()
	send(t, c, fmt.Sprintf(`{"op":"subscribe","id":%q,"filter":{"symbols":[%s]}}`,
		id, quoteAll(symbols)))
	m := read(t, c)
	if m.Op != "subscribed" || m.ID != id {
		t.Fatalf("subscribe %s: got %s, want its subscribed reply", id, show(m))
	}
	return m
}

// events reads events frames until n events have arrived and returns them.
func events(t testing.TB, c *wsclient.Client, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		m := read(t, c)
		if m.Op != "events" {
			t.Fatalf("got %s while waiting for %d events (have %d)", show(m), n, len(got))
		}
		for _, ev := range m.Events {
			got = append(got, string(ev))
		}
	}
	return got
}

// closeStatus reads until the connection ends and returns its close status,
// -1 when it ended without a close frame.
func closeStatus(t testing.TB, c *wsclient.Client) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if _, _, err := c.Conn().Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("connection still open after %s", timeout)
			}
			return websocket.CloseStatus(err)
		}
	}
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, timeout, what, cond)
}

// show renders a message as the JSON it came as, for failure messages.
func show(m wsclient.Message) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ",")
}

type nopLog struct{}

func (nopLog) Warnw(string, ...any) {}

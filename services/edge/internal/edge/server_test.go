package edge_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/liveflow/liveflow/pkg/wsclient"
	"github.com/liveflow/liveflow/services/edge/internal/edge"
)

func TestShutdownClosesClientsAsGoingAway(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{})
	idle, subscribed := e.dial(t), e.dial(t)
	subscribe(t, subscribed, "s", "AAPL")

	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		e.srv.Shutdown(ctx, 0)
	}()
	for name, c := range map[string]*wsclient.Client{"idle": idle, "subscribed": subscribed} {
		if got := closeStatus(t, c); got != edge.CloseShutdown {
			t.Errorf("%s client closed with %v, want %v", name, got, edge.CloseShutdown)
		}
	}
	select {
	case <-done:
	case <-time.After(timeout):
		t.Fatal("Shutdown did not return")
	}
	if took := time.Since(start); took > timeout/2 {
		t.Errorf("Shutdown took %s though every client answered", took)
	}
	if got := testutil.ToFloat64(e.m.Connections); got != 0 {
		t.Errorf("connections after Shutdown = %v, want 0", got)
	}

	late := e.dial(t)
	if got := closeStatus(t, late); got != edge.CloseShutdown {
		t.Errorf("a client arriving after Shutdown closed with %v, want %v", got, edge.CloseShutdown)
	}
}

func TestServesLivePage(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{})
	resp, err := e.ts.Client().Get(e.ts.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<title>liveflow</title>") {
		t.Errorf("GET / = %d, %.100q; want the live page", resp.StatusCode, body)
	}
}

func TestOriginCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		allowed []string
		origin  string
		wantOK  bool
	}{
		{name: "no origin (not a browser)", wantOK: true},
		{name: "foreign origin", origin: "https://evil.example.org"},
		{name: "allowed pattern", allowed: []string{"*.example.com"},
			origin: "https://app.example.com", wantOK: true},
		{name: "outside the pattern", allowed: []string{"*.example.com"}, origin: "https://example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEdge(t, edge.Limits{}, tt.allowed...)
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{
				HTTPClient: e.ts.Client(), HTTPHeader: h,
			})
			if tt.wantOK {
				if err != nil {
					t.Fatalf("dial from %q: %v", tt.origin, err)
				}
				c.Close(websocket.StatusNormalClosure, "")
				return
			}
			if err == nil {
				c.CloseNow()
				t.Fatalf("dial from %q succeeded, want it refused", tt.origin)
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Errorf("dial from %q: %v; want 403", tt.origin, errors.Unwrap(err))
			}
			// The refusal is counted after it is written.
			eventually(t, "the refused upgrade is counted", func() bool {
				return testutil.ToFloat64(e.m.Rejected) == 1
			})
		})
	}
}

// TestShutdownSpreadsCloses checks that a drain tells clients to reconnect
// one after another over the drain period, not all at once.
func TestShutdownSpreadsCloses(t *testing.T) {
	e := newEdge(t, edge.Limits{})
	var clients []*wsclient.Client
	for range 4 {
		clients = append(clients, e.dial(t))
	}
	eventually(t, "four connections", func() bool { return testutil.ToFloat64(e.m.Connections) == 4 })

	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		e.srv.Shutdown(ctx, 600*time.Millisecond)
	}()
	var closedAt []time.Duration
	for _, c := range clients {
		if got := closeStatus(t, c); got != edge.CloseShutdown {
			t.Errorf("closed with %v, want %v", got, edge.CloseShutdown)
		}
		closedAt = append(closedAt, time.Since(start))
	}
	// Four closes over 600 ms: the last one no sooner than 450 ms in.
	if last := slices.Max(closedAt); last < 400*time.Millisecond {
		t.Errorf("last client closed %s after the drain began; closes were not spread", last)
	}
}

func TestClientsAreToldTheFeedStatus(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{})
	early := e.dial(t)
	subscribe(t, early, "s", "AAPL")

	e.srv.SetStatus("redis", false, "the event store is unreachable")
	if m := read(t, early); m.Op != "status" || m.Feed != "degraded" || !strings.Contains(m.Message, "unreachable") {
		t.Fatalf("connected client got %s, want a degraded status", show(m))
	}
	late := e.dial(t)
	if m := read(t, late); m.Op != "status" || m.Feed != "degraded" {
		t.Fatalf("a client connecting while degraded got %s first, want the status", show(m))
	}
	if got := testutil.ToFloat64(e.m.Degraded); got != 1 {
		t.Errorf("degraded sources = %v, want 1", got)
	}

	// A second source adds its reason; the same report again says nothing.
	e.srv.SetStatus("feed", false, "the upstream feed is stalled")
	e.srv.SetStatus("feed", false, "the upstream feed is stalled")
	for _, c := range []*wsclient.Client{early, late} {
		if m := read(t, c); m.Op != "status" || !strings.Contains(m.Message, "stalled") ||
			!strings.Contains(m.Message, "unreachable") {
			t.Fatalf("got %s, want both reasons", show(m))
		}
	}

	e.srv.SetStatus("redis", true, "")
	e.srv.SetStatus("feed", true, "")
	for _, c := range []*wsclient.Client{early, late} {
		m := read(t, c)
		for m.Op == "status" && m.Feed == "degraded" {
			m = read(t, c) // the status after the first recovery, which may be sent or replaced
		}
		if m.Op != "status" || m.Feed != "ok" {
			t.Fatalf("got %s, want the feed back to ok", show(m))
		}
	}
	// Events still flow to a client that was told.
	e.xadd(t, "AAPL", `{"n":"after"}`)
	if got := events(t, early, 1); !strings.Contains(got[0], `"n":"after"`) {
		t.Errorf("after recovery got %q", got)
	}
}

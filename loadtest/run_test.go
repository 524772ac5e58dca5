package main

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
)

// fakeEdge answers subscribe requests and then sends perClient events, each
// stamped 2 ms before it is sent, to every client.
func fakeEdge(t testing.TB, perClient int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var req struct{ ID string }
		_ = json.Unmarshal(data, &req)
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"op":"subscribed","id":"`+req.ID+`"}`)); err != nil {
			return
		}
		for i := 0; i < perClient; i++ {
			ts := time.Now().Add(-2 * time.Millisecond).UnixNano()
			frame := fmt.Sprintf(`{"op":"events","events":[{"id":"0-%d-0","ingest_ts":%d}]}`, i, ts)
			if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
				return
			}
		}
		_, _, _ = c.Read(ctx) // hold the connection until the client leaves
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRunCountsEventsAndLatency(t *testing.T) {
	srv := fakeEdge(t, 50)
	cfg, err := parse([]string{"-url", "ws" + strings.TrimPrefix(srv.URL, "http"),
		"-clients", "4", "-duration", "10s", "-until-events", "200", "-per-client", "2"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.events != 200 || res.failed != 0 {
		t.Errorf("events %d, failed clients %d; want 200 and 0", res.events, res.failed)
	}
	if res.elapsed > 5*time.Second {
		t.Errorf("run took %s; it should stop as soon as 200 events arrived", res.elapsed)
	}
	// Every event was stamped 2 ms before sending, so no latency is below 2 ms.
	if n := res.latency.TotalCount(); n != 200 {
		t.Errorf("latency samples = %d, want 200", n)
	}
	if min := res.latency.Min(); min < 2000 {
		t.Errorf("smallest latency %d µs, want at least 2000", min)
	}

	var out strings.Builder
	res.print(&out)
	for _, want := range []string{"clients     4 (0 failed)", "events      200", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunFailsWhenNothingListens(t *testing.T) {
	cfg, err := parse([]string{"-url", "ws://127.0.0.1:1/ws", "-clients", "2", "-duration", "600ms"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(context.Background(), cfg); err == nil {
		t.Error("run against a closed port succeeded")
	}
}

func TestParseRejects(t *testing.T) {
	for _, args := range [][]string{
		{"-url", "http://x"},
		{"-clients", "0"},
		{"-symbols", " "},
		{"-per-client", "20"},
		{"-duration", "0s"},
		{"-duration", "48h"},
	} {
		if _, err := parse(args); err == nil {
			t.Errorf("parse(%q) accepted", args)
		}
	}
}

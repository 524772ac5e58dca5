package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/services/edge/internal/edge"
)

func TestSubscribeNormalizesSymbolsAndDeliversEvents(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{})
	c := e.dial(t)

	m := subscribe(t, c, "s1", "tsla", "AAPL", "Tsla", "brk1")
	if want := []string{"TSLA", "AAPL", "BRK1"}; !slices.Equal(m.Symbols, want) {
		t.Errorf("subscribed symbols = %q, want %q", m.Symbols, want)
	}
	e.xadd(t, "MSFT", `{"n":"not-mine"}`)
	e.xadd(t, "TSLA", `{"n":"t1"}`)
	e.xadd(t, "AAPL", `{"n":"a1"}`)
	e.xadd(t, "BRK1", `{"n":"b1"}`)
	got := events(t, c, 3)
	for _, want := range []string{`"n":"t1"`, `"n":"a1"`, `"n":"b1"`} {
		if !slices.ContainsFunc(got, func(ev string) bool { return strings.Contains(ev, want) }) {
			t.Errorf("events %q lack %s", got, want)
		}
	}
}

func TestEventsFrameBytes(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{})
	c := e.dial(t)
	subscribe(t, c, "s1", "AAPL")

	id := e.xadd(t, "AAPL", `{"n":"a","px":1.25}`)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, got, err := c.Conn().Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"op":"events","events":[{"id":"%d-%s","n":"a","px":1.25}]}`,
		stream.Shard("AAPL", shards), id)
	if typ != websocket.MessageText || string(got) != want {
		t.Errorf("frame (%v)\n got %s\nwant %s", typ, got, want)
	}
}

// TestSubscribedPrecedesEvents subscribes while events of the symbol pour
// in: the first frame of a fresh connection must still be the reply, or a
// client could not tell which subscription an event belongs to. The race it
// looks for is narrow; a long symbol list makes the reply slow to encode and
// the test fail most runs when the ordering is broken.
func TestSubscribedPrecedesEvents(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{})
	symbols := []string{"TSLA"}
	for i := range 500 {
		symbols = append(symbols, fmt.Sprintf("P%d", i))
	}
	warm := e.dial(t)
	subscribe(t, warm, "warm", symbols...) // starts the shards' readers

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			e.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { // errors end with the test
				for range 20 {
					p.XAdd(ctx, &redis.XAddArgs{
						Stream: stream.Key(stream.Shard("TSLA", shards)),
						Values: []any{stream.FieldUnderlying, "TSLA", stream.FieldEvent, `{"n":"flood"}`},
					})
				}
				return nil
			})
		}
	}()
	defer func() { cancel(); wg.Wait() }()

	req := `{"op":"subscribe","id":%q,"filter":{"symbols":[` + quoteAll(symbols) + `]}}`
	for i := range 60 {
		c := e.dial(t)
		id := fmt.Sprintf("s%d", i)
		send(t, c, fmt.Sprintf(req, id))
		if m := read(t, c); m.Op != "subscribed" || m.ID != id {
			t.Fatalf("connection %d: first frame after subscribe is %s, want its subscribed reply",
				i, show(m))
		}
		if got := events(t, c, 1); !strings.Contains(got[0], `"n":"flood"`) {
			t.Fatalf("connection %d: event %s", i, got[0])
		}
		c.Conn().CloseNow()
	}
}

func TestUnsubscribeStopsEvents(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{})
	// fence shares AAPL's shard, so its event follows AAPL's in one reader.
	fence := ""
	for i := 0; fence == ""; i++ {
		if s := fmt.Sprintf("F%d", i); stream.Shard(s, shards) == stream.Shard("AAPL", shards) {
			fence = s
		}
	}
	c := e.dial(t)
	subscribe(t, c, "a", "AAPL")
	subscribe(t, c, "f", fence)
	e.xadd(t, "AAPL", `{"n":"before"}`)
	if got := events(t, c, 1); !strings.Contains(got[0], `"n":"before"`) {
		t.Fatalf("got %s, want the event written before unsubscribing", got[0])
	}

	send(t, c, `{"op":"unsubscribe","id":"a"}`)
	if m := read(t, c); m.Op != "unsubscribed" || m.ID != "a" {
		t.Fatalf("got %s, want unsubscribed a", show(m))
	}
	e.xadd(t, "AAPL", `{"n":"after"}`)
	e.xadd(t, fence, `{"n":"fence"}`)
	if got := events(t, c, 1); !strings.Contains(got[0], `"n":"fence"`) {
		t.Errorf("got %s after unsubscribing, want only the fence", got[0])
	}
}

func TestPingPong(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{})
	c := e.dial(t)
	send(t, c, `{"op":"ping"}`)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, got, err := c.Conn().Read(ctx); err != nil || string(got) != `{"op":"pong"}` {
		t.Errorf("reply to ping = %s, %v; want {\"op\":\"pong\"}", got, err)
	}
}

func TestErrorRepliesKeepConnectionOpen(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{})
	sub := func(id string, symbols ...string) string {
		return fmt.Sprintf(`{"op":"subscribe","id":%q,"filter":{"symbols":[%s]}}`, id, quoteAll(symbols))
	}
	tooMany := make([]string, 1001)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("S%d", i)
	}

	tests := []struct {
		name   string
		setup  []string // frames answered without error first
		frame  string
		code   string
		wantID string
	}{
		{name: "not JSON", frame: `hello`, code: edge.CodeBadJSON},
		{name: "JSON array", frame: `[{"op":"ping"}]`, code: edge.CodeBadJSON},
		{name: "symbols not a list", frame: `{"op":"subscribe","id":"a","filter":{"symbols":"AAPL"}}`,
			code: edge.CodeBadJSON},
		{name: "unknown op", frame: `{"op":"publish","id":"x"}`, code: edge.CodeUnknownOp, wantID: "x"},
		{name: "missing op", frame: `{"id":"x"}`, code: edge.CodeUnknownOp, wantID: "x"},
		{name: "JSON null", frame: `null`, code: edge.CodeUnknownOp},
		{name: "subscribe without id", frame: `{"op":"subscribe","filter":{"symbols":["AAPL"]}}`,
			code: edge.CodeBadRequest},
		{name: "subscribe without filter", frame: `{"op":"subscribe","id":"a"}`,
			code: edge.CodeBadFilter, wantID: "a"},
		{name: "no symbols", frame: sub("a"), code: edge.CodeBadFilter, wantID: "a"},
		{name: "invalid symbol", frame: sub("a", "AAPL", "TOO-LONG!"),
			code: edge.CodeBadFilter, wantID: "a"},
		{name: "empty symbol", frame: sub("a", ""), code: edge.CodeBadFilter, wantID: "a"},
		{name: "seven letters", frame: sub("a", "ABCDEFG"), code: edge.CodeBadFilter, wantID: "a"},
		{name: "too many symbols", frame: sub("a", tooMany...), code: edge.CodeBadFilter, wantID: "a"},
		{name: "duplicate id", setup: []string{sub("a", "AAPL")}, frame: sub("a", "MSFT"),
			code: edge.CodeDuplicateID, wantID: "a"},
		{name: "unsubscribe unknown id", setup: []string{sub("a", "AAPL")},
			frame: `{"op":"unsubscribe","id":"b"}`, code: edge.CodeUnknownID, wantID: "b"},
		{name: "unsubscribed id", setup: []string{sub("a", "AAPL"), `{"op":"unsubscribe","id":"a"}`},
			frame: `{"op":"unsubscribe","id":"a"}`, code: edge.CodeUnknownID, wantID: "a"},
		{name: "whole feed without a grant", frame: sub("a", "*"), code: edge.CodeForbidden, wantID: "a"},
		{name: "whole feed and a symbol", frame: sub("a", "*", "AAPL"), code: edge.CodeBadFilter, wantID: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t)
			for _, f := range tt.setup {
				send(t, c, f)
				if m := read(t, c); m.Op == "error" {
					t.Fatalf("setup %s: %s", f, show(m))
				}
			}
			before := testutil.ToFloat64(e.m.ProtocolErrors.WithLabelValues(tt.code))

			send(t, c, tt.frame)
			m := read(t, c)
			if m.Op != "error" || m.Code != tt.code || m.ID != tt.wantID || m.Message == "" {
				t.Errorf("reply = %s, want error %s for id %q with a message", show(m), tt.code, tt.wantID)
			}
			if got := testutil.ToFloat64(e.m.ProtocolErrors.WithLabelValues(tt.code)); got != before+1 {
				t.Errorf("protocol errors{code=%q} = %v, want %v", tt.code, got, before+1)
			}
			send(t, c, `{"op":"ping"}`)
			if m := read(t, c); m.Op != "pong" {
				t.Errorf("after the error, ping got %s; the connection should stay usable", show(m))
			}
		})
	}
}

func TestMisbehavingClientIsClosed(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{MaxMessage: 1024})
	tests := []struct {
		name  string
		typ   websocket.MessageType
		frame string
		want  websocket.StatusCode
	}{
		{"binary frame", websocket.MessageBinary, `{"op":"ping"}`, edge.CloseNotText},
		{"text frame that is not UTF-8", websocket.MessageText, "{\"op\":\"ping\",\"id\":\"\xff\xfe\"}", edge.CloseBadUTF8},
		{"frame over the read limit", websocket.MessageText,
			`{"op":"ping","id":"` + strings.Repeat("x", 2048) + `"}`, websocket.StatusMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.dial(t)
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if err := c.Conn().Write(ctx, tt.typ, []byte(tt.frame)); err != nil {
				t.Fatal(err)
			}
			if got := closeStatus(t, c); got != tt.want {
				t.Errorf("close status = %v, want %v", got, tt.want)
			}
			eventually(t, "the session ends", func() bool {
				return testutil.ToFloat64(e.m.Connections) == 0
			})
		})
	}
}

// TestOneFramePerStreamRead checks that what one stream read brings for a
// client leaves in one frame: entries added in one transaction reach the
// reader in one XREAD, and the client gets them together.
func TestOneFramePerStreamRead(t *testing.T) {
	e := newEdge(t, edge.Limits{})
	c := e.dial(t)
	subscribe(t, c, "s1", "AAPL")

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	key := stream.Key(stream.Shard("AAPL", shards))
	_, err := e.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i := 0; i < 20; i++ {
			p.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{
				stream.FieldUnderlying, "AAPL", stream.FieldEvent, fmt.Sprintf(`{"n":%d}`, i)}})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m := read(t, c)
	if m.Op != "events" || len(m.Events) != 20 {
		t.Fatalf("first frame after a 20-entry transaction: %s; want all 20 events in it", show(m))
	}
	// The counter moves just after the write returns, which the client may
	// beat; then it must stay at one frame.
	eventually(t, "one frame counted", func() bool { return testutil.ToFloat64(e.m.Frames) == 1 })
	if got := testutil.ToFloat64(e.m.Events); got != 20 {
		t.Errorf("events counted = %v, want 20", got)
	}
}

// TestServerSideFilters checks that only events a subscription's filter
// wants reach the client, each once across overlapping subscriptions, and
// that cancels of watched underlyings always do.
func TestServerSideFilters(t *testing.T) {
	e := newEdge(t, edge.Limits{})
	c := e.dial(t)
	send(t, c, `{"op":"subscribe","id":"big","filter":{"symbols":["AAPL"],"kinds":["sweep"],"min_score":50}}`)
	if m := read(t, c); m.Op != "subscribed" {
		t.Fatalf("got %s", show(m))
	}
	send(t, c, `{"op":"subscribe","id":"calls","filter":{"symbols":["AAPL"],"rights":["C"],"dte_max":7}}`)
	if m := read(t, c); m.Op != "subscribed" {
		t.Fatalf("got %s", show(m))
	}

	e.xadd(t, "AAPL", `{"n":"1","kind":"trade","score":80,"right":"P","dte":3}`)  // neither wants it
	e.xadd(t, "AAPL", `{"n":"2","kind":"sweep","score":40,"right":"P","dte":3}`)  // score too low
	e.xadd(t, "AAPL", `{"n":"3","kind":"sweep","score":60,"right":"C","dte":3}`)  // both: once
	e.xadd(t, "AAPL", `{"n":"4","kind":"trade","score":10,"right":"C","dte":30}`) // DTE too far
	e.xadd(t, "AAPL", `{"n":"5","kind":"trade","score":10,"right":"C","dte":1}`)  // calls
	e.xadd(t, "AAPL", `{"n":"6","kind":"cancel","score":0,"right":"P","dte":3}`)  // cancels pass
	got := events(t, c, 3)
	var ns []string
	for _, ev := range got {
		i := strings.Index(ev, `"n":"`)
		ns = append(ns, ev[i+5:i+6])
	}
	if strings.Join(ns, ",") != "3,5,6" {
		t.Errorf("delivered events %v, want 3,5,6:\n%s", ns, strings.Join(got, "\n"))
	}

	send(t, c, `{"op":"subscribe","id":"bad","filter":{"symbols":["AAPL"],"kinds":["sweeps"]}}`)
	if m := read(t, c); m.Op != "error" || m.Code != edge.CodeBadFilter || !strings.Contains(m.Message, "kinds") {
		t.Errorf("unknown kind: got %s, want a bad_filter error naming kinds", show(m))
	}
}

// TestSnapshotJoinsLiveEvents asks for the latest matching events with the
// subscription: they come with "subscribed", oldest first, and the live
// events continue exactly after them.
func TestSnapshotJoinsLiveEvents(t *testing.T) {
	e := newEdge(t, edge.Limits{})
	for i, kind := range []string{"sweep", "trade", "sweep", "sweep", "trade"} {
		e.xadd(t, "AAPL", fmt.Sprintf(`{"n":"%d","kind":%q}`, i+1, kind))
	}
	e.xadd(t, "MSFT", `{"n":"9","kind":"sweep"}`)

	c := e.dial(t)
	send(t, c, `{"op":"subscribe","id":"s","snapshot":2,"filter":{"symbols":["AAPL","MSFT"],"kinds":["sweep"]}}`)
	m := read(t, c)
	if m.Op != "subscribed" {
		t.Fatalf("got %s", show(m))
	}
	var snap []string
	for _, ev := range m.Snapshot {
		i := strings.Index(string(ev), `"n":"`)
		snap = append(snap, string(ev)[i+5:i+6])
	}
	// Sweeps in write order: 1, 3, 4 (AAPL) and 9 (MSFT); the last two.
	if strings.Join(snap, ",") != "4,9" {
		t.Errorf("snapshot %v, want 4,9", snap)
	}

	e.xadd(t, "AAPL", `{"n":"7","kind":"sweep"}`)
	if got := events(t, c, 1); !strings.Contains(got[0], `"n":"7"`) {
		t.Errorf("first live event %s, want n 7", got[0])
	}

	send(t, c, `{"op":"subscribe","id":"huge","snapshot":5000,"filter":{"symbols":["AAPL"]}}`)
	if m := read(t, c); m.Op != "error" || m.Code != edge.CodeBadRequest {
		t.Errorf("snapshot of 5000: got %s, want bad_request", show(m))
	}
}

// TestResume reconnects with the last event id seen and receives exactly the
// events missed in between, then live ones; a resume point the stream has
// trimmed away is reported as a gap with a fresh snapshot.
func TestResume(t *testing.T) {
	e := newEdge(t, edge.Limits{})
	c := e.dial(t)
	subscribe(t, c, "s", "AAPL")
	e.xadd(t, "AAPL", `{"n":"1","kind":"trade"}`)
	seen := events(t, c, 1)
	var last struct{ ID string }
	if err := json.Unmarshal([]byte(seen[0]), &last); err != nil {
		t.Fatal(err)
	}
	c.Conn().CloseNow()

	// While the client is away.
	e.xadd(t, "AAPL", `{"n":"2","kind":"trade"}`)
	e.xadd(t, "AAPL", `{"n":"3","kind":"sweep"}`)

	c2 := e.dial(t)
	send(t, c2, fmt.Sprintf(`{"op":"subscribe","id":"s","resume_from":%q,"filter":{"symbols":["AAPL"]}}`, last.ID))
	m := read(t, c2)
	if m.Op != "subscribed" || m.Resume != "complete" {
		t.Fatalf("resume: got %s, want complete", show(m))
	}
	// The hub may not have read event 3 when the client subscribed; then
	// it comes live, right after the missed ones. Either way 2, 3 and 4
	// arrive once each, in order.
	got := make([]string, 0, 3)
	for _, ev := range m.Missed {
		got = append(got, string(ev))
	}
	e.xadd(t, "AAPL", `{"n":"4","kind":"trade"}`)
	got = append(got, events(t, c2, 3-len(got))...)
	for i, n := range []string{"2", "3", "4"} {
		if !strings.Contains(got[i], `"n":"`+n+`"`) {
			t.Fatalf("after resuming got %q, want events 2, 3 and 4 in order", got)
		}
	}

	// Trim the stream past the resume point.
	key := stream.Key(stream.Shard("AAPL", shards))
	if err := e.rdb.XTrimMaxLen(context.Background(), key, 1).Err(); err != nil {
		t.Fatal(err)
	}
	c3 := e.dial(t)
	send(t, c3, fmt.Sprintf(`{"op":"subscribe","id":"s","resume_from":[%q],"filter":{"symbols":["AAPL"]}}`, last.ID))
	m = read(t, c3)
	if m.Resume != "gap" || len(m.Missed) != 0 || len(m.Snapshot) != 1 || !strings.Contains(string(m.Snapshot[0]), `"n":"4"`) {
		t.Errorf("resume past a trim: got %s (snapshot %s), want a gap and a fresh snapshot of event 4", show(m), m.Snapshot)
	}

	send(t, c3, `{"op":"subscribe","id":"t","resume_from":"99-1-0","filter":{"symbols":["AAPL"]}}`)
	if m := read(t, c3); m.Op != "error" || m.Code != edge.CodeBadRequest {
		t.Errorf("resume from another feed's id: got %s, want bad_request", show(m))
	}
}

func TestSubscriptionsGauge(t *testing.T) {
	e := newEdge(t, edge.Limits{})
	c := e.dial(t)
	subscribe(t, c, "a", "AAPL")
	subscribe(t, c, "b", "MSFT")
	if got := testutil.ToFloat64(e.m.Subscriptions); got != 2 {
		t.Errorf("subscriptions = %v, want 2", got)
	}
	send(t, c, `{"op":"unsubscribe","id":"a"}`)
	read(t, c)
	if got := testutil.ToFloat64(e.m.Subscriptions); got != 1 {
		t.Errorf("subscriptions after unsubscribe = %v, want 1", got)
	}
	c.Conn().CloseNow()
	eventually(t, "the gauge to drop with the connection", func() bool {
		return testutil.ToFloat64(e.m.Subscriptions) == 0
	})
}

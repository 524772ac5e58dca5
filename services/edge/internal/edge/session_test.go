package edge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/wsclient"
	"github.com/liveflow/liveflow/services/edge/internal/edge"
)

// TestLaggingClientIsTold checks that a client whose queue overflows loses
// its oldest waiting events, learns how many and which, and keeps the newest.
func TestLaggingClientIsTold(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{QueueLen: 8})
	c := e.dial(t)
	subscribe(t, c, "s", "AAPL")

	// One transaction reaches the hub in one read: 100 events for a queue
	// of 8, faster than any writer drains it.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	key := stream.Key(stream.Shard("AAPL", shards))
	_, err := e.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i := range 100 {
			p.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{
				stream.FieldUnderlying, "AAPL", stream.FieldEvent, fmt.Sprintf(`{"n":%d}`, i)}})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var dropped, delivered []string
	for len(dropped)+len(delivered) < 100 {
		m := read(t, c)
		switch m.Op {
		case "lagged":
			if m.Dropped < 1 || m.First == "" || m.Last == "" || m.Message == "" {
				t.Fatalf("lagged notice %s lacks counts or ids", show(m))
			}
			if len(delivered) > 0 && m.First <= id(t, delivered[len(delivered)-1]) {
				t.Errorf("lagged notice %s names events older than one delivered", show(m))
			}
			for range m.Dropped {
				dropped = append(dropped, m.First)
			}
		case "events":
			for _, ev := range m.Events {
				delivered = append(delivered, string(ev))
			}
		default:
			t.Fatalf("unexpected %s", show(m))
		}
	}
	if len(dropped) == 0 {
		t.Fatal("no event was dropped from a queue of 8 for a burst of 100")
	}
	if last := delivered[len(delivered)-1]; !strings.Contains(last, `"n":99`) {
		t.Errorf("the newest event %s is not the last written", last)
	}
	if got := testutil.ToFloat64(e.m.Dropped); got != float64(len(dropped)) {
		t.Errorf("dropped events counted = %v, want %d", got, len(dropped))
	}
	if testutil.ToFloat64(e.m.SlowClosed) != 0 {
		t.Error("a client that fell behind once was cut off")
	}
	send(t, c, `{"op":"ping"}`)
	if m := read(t, c); m.Op != "pong" {
		t.Errorf("after catching up, ping got %s", show(m))
	}
}

// id returns the "id" of an event.
func id(t testing.TB, ev string) string {
	t.Helper()
	var v struct{ ID string }
	if err := json.Unmarshal([]byte(ev), &v); err != nil || v.ID == "" {
		t.Fatalf("event %s has no id", ev)
	}
	return v.ID
}

func TestSlowConsumerIsCutOff(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{QueueLen: 4, LagGrace: 200 * time.Millisecond})
	slow, fast := e.dialSmallBuffer(t), e.dial(t)
	subscribe(t, slow, "s", "SLOW")
	subscribe(t, fast, "f", "FAST")

	// slow reads nothing more. Once the socket buffers are full its writer
	// blocks, its queue sheds at every burst, and it stays behind for longer
	// than the grace period.
	big := `{"n":"burst","pad":"` + strings.Repeat("x", 16000) + `"}`
	deadline := time.Now().Add(timeout)
	for testutil.ToFloat64(e.m.SlowClosed) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow consumer was never cut off")
		}
		_, err := e.rdb.Pipelined(context.Background(), func(p redis.Pipeliner) error {
			for range 200 {
				p.XAdd(context.Background(), &redis.XAddArgs{
					Stream: stream.Key(stream.Shard("SLOW", shards)),
					Values: []any{stream.FieldUnderlying, "SLOW", stream.FieldEvent, big},
				})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	// The other client, read as fast as it is fed, keeps its events.
	for i := range 20 {
		want := fmt.Sprintf(`"n":"f%d"`, i)
		e.xadd(t, "FAST", "{"+want+"}")
		if got := events(t, fast, 1); !strings.Contains(got[0], want) {
			t.Fatalf("fast client got %s, want %s", got[0], want)
		}
	}
	if got := closeStatus(t, slow); got != edge.CloseSlowConsumer {
		t.Errorf("slow client closed with %v, want %v", got, edge.CloseSlowConsumer)
	}
	if got := testutil.ToFloat64(e.m.SlowClosed); got != 1 {
		t.Errorf("slow consumer closes = %v, want 1", got)
	}
	eventually(t, "only the fast client stays connected", func() bool {
		return testutil.ToFloat64(e.m.Connections) == 1
	})
}

// dialSmallBuffer connects a client whose socket receive buffer is a few
// kilobytes, so that a client that stops reading blocks the node's writes
// soon, as a slow link would.
func (e *env) dialSmallBuffer(t testing.TB) *wsclient.Client {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return wsclient.New(conn)
}

func TestPeerThatMissesPingsIsClosed(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{PingEvery: 100 * time.Millisecond})
	live, dead := e.dial(t), e.dial(t)
	subscribe(t, live, "l", "AAPL")

	// live keeps reading, and so answers pings; dead reads nothing.
	liveErr := make(chan error, 1)
	go func() {
		_, _, err := live.Conn().Read(context.Background())
		liveErr <- err
	}()
	eventually(t, "the dead peer is counted", func() bool {
		return testutil.ToFloat64(e.m.DeadClosed) >= 1
	})
	if got := closeStatus(t, dead); got != websocket.StatusPolicyViolation {
		t.Errorf("dead peer closed with %v, want %v", got, websocket.StatusPolicyViolation)
	}
	if got := testutil.ToFloat64(e.m.DeadClosed); got != 1 {
		t.Errorf("dead peer closes = %v, want 1 (the reading client must stay)", got)
	}
	select {
	case err := <-liveErr:
		t.Errorf("the client answering pings was closed: %v", err)
	default:
	}
	live.Conn().CloseNow()
	<-liveErr
}

package edge_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/services/edge/internal/edge"
)

func TestSlowConsumerIsCutOff(t *testing.T) {
	t.Parallel()
	e := newEdge(t, edge.Limits{QueueLen: 4})
	slow, fast := e.dial(t), e.dial(t)
	subscribe(t, slow, "s", "SLOW")
	subscribe(t, fast, "f", "FAST")

	// slow reads nothing more. Bursts written in one round trip reach the
	// hub in one XREAD, faster than any writer drains a queue of 4.
	deadline := time.Now().Add(timeout)
	for testutil.ToFloat64(e.m.SlowClosed) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow consumer was never cut off")
		}
		_, err := e.rdb.Pipelined(context.Background(), func(p redis.Pipeliner) error {
			for range 200 {
				p.XAdd(context.Background(), &redis.XAddArgs{
					Stream: stream.Key(stream.Shard("SLOW", shards)),
					Values: []any{stream.FieldUnderlying, "SLOW", stream.FieldEvent, `{"n":"burst"}`},
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

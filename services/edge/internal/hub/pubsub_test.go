package hub_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
)

// TestPubSubSurvivesKilledConnections kills the reader's subscription
// connection again and again while entries pour in: every entry must still
// arrive exactly once, in order.
func TestPubSubSurvivesKilledConnections(t *testing.T) {
	t.Parallel()
	e := newHub(t, hub.FanoutPubSub)
	sub := &recorder{}
	shard := stream.Shard("AAPL", shards)
	from, err := e.hub.Add(context.Background(), sub, []string{"AAPL"})
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, e.rdb, "AAPL")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.run(ctx, 2, 0, 0) }()

	const kills = 5
	resubscribed := e.m.CatchUps.WithLabelValues("subscribed")
	node, err := redistest.NodeFor(context.Background(), e.rdb, stream.Channel(shard))
	if err != nil {
		t.Fatal(err)
	}
	for i := range kills {
		w.waitFor(t, int64(200*(i+1)))
		n, err := node.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Result()
		if err != nil || n != 1 {
			t.Fatalf("CLIENT KILL TYPE pubsub = %d, %v; want the reader's one connection", n, err)
		}
		eventually(t, "the reader subscribes again", func() bool {
			return testutil.ToFloat64(resubscribed) == float64(i+1)
		})
	}
	w.waitFor(t, 200*(kills+1))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fence := e.xadd(t, "AAPL", `{"n":"fence"}`)
	sub.waitFor(t, "fence")
	want := streamIDs(t, e.rdb, shard, from[shard], fence)
	if got := sub.entryIDs(); !equalIDs(got, want) {
		t.Errorf("got %d entries, want all %d once in order: %s", len(got), len(want), diffIDs(got, want))
	}
	if got := testutil.ToFloat64(e.m.RedisErrors); got != kills {
		t.Errorf("redis errors = %v, want one per kill (%d)", got, kills)
	}
}

// TestPubSubRecovers checks each way a notification can fail to bring the
// next entries: the reader must read them from the stream, once.
func TestPubSubRecovers(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, e *hubEnv) // what goes wrong before the fence
		reason string                        // the catch-up it causes, if any
		want   []string                      // the markers the subscriber gets
	}{
		{"unreadable notification", func(t *testing.T, e *hubEnv) {
			publish(t, e, "junk")
		}, "malformed", []string{"fence"}},
		{"entry without a notification", func(t *testing.T, e *hubEnv) {
			rawXAdd(t, e, "hidden")
		}, "gap", []string{"hidden", "fence"}},
		{"notification seen before", func(t *testing.T, e *hubEnv) {
			payload := notified(t, e, func() { e.xadd(t, "AAPL", `{"n":"once"}`) })
			publish(t, e, payload)
		}, "", []string{"once", "fence"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newHub(t, hub.FanoutPubSub)
			sub := &recorder{}
			e.add(t, sub, "AAPL")
			tt.before(t, e)
			e.xadd(t, "AAPL", `{"n":"fence"}`)
			sub.waitFor(t, "fence")
			var want []string
			for _, n := range tt.want {
				want = append(want, fmt.Sprintf(`"n":%q`, n))
			}
			if got := sub.all(); !hasInOrder(got, want) {
				t.Errorf("subscriber got %q, want each of %q once, in order", got, want)
			}
			for _, reason := range []string{"subscribed", "gap", "malformed", "unannounced"} {
				got := testutil.ToFloat64(e.m.CatchUps.WithLabelValues(reason))
				if want := reason == tt.reason; want != (got > 0) {
					t.Errorf("catch-ups for %q = %v, want them only for %q", reason, got, tt.reason)
				}
			}
		})
	}
}

// TestPubSubWithoutNotifications has scorers that do not notify: entries
// still arrive, a quiet period late, and the hub says what is wrong.
func TestPubSubWithoutNotifications(t *testing.T) {
	t.Parallel()
	e := newHub(t, hub.FanoutPubSub)
	sub := &recorder{}
	e.add(t, sub, "AAPL")
	for _, n := range []string{"first", "second"} {
		rawXAdd(t, e, n)
		testkit.Eventually(t, 10*time.Second, n+" arrives", func() bool { return sub.count(n) == 1 })
	}
	if got := e.log.Count("warn", "shard stream entries come without notifications"); got != 1 {
		t.Errorf("logged %d warnings about unannounced entries, want 1", got)
	}
	if got := len(sub.all()); got != 2 {
		t.Errorf("subscriber got %d messages, want 2", got)
	}
}

// publish sends a raw message on AAPL's shard channel.
func publish(t *testing.T, e *hubEnv, payload string) {
	t.Helper()
	channel := stream.Channel(stream.Shard("AAPL", shards))
	if err := e.rdb.SPublish(context.Background(), channel, payload).Err(); err != nil {
		t.Fatal(err)
	}
}

// rawXAdd appends an AAPL event marked n without a notification.
func rawXAdd(t *testing.T, e *hubEnv, n string) {
	t.Helper()
	err := e.rdb.XAdd(context.Background(), &redis.XAddArgs{
		Stream: stream.Key(stream.Shard("AAPL", shards)),
		Values: []any{stream.FieldUnderlying, "AAPL", stream.FieldEvent, `{"n":"` + n + `"}`},
	}).Err()
	if err != nil {
		t.Fatal(err)
	}
}

// notified returns the notification that write causes on AAPL's channel.
func notified(t *testing.T, e *hubEnv, write func()) string {
	t.Helper()
	ctx := context.Background()
	ps := e.rdb.SSubscribe(ctx, stream.Channel(stream.Shard("AAPL", shards)))
	defer ps.Close()
	if _, err := ps.ReceiveTimeout(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	write()
	m, err := ps.ReceiveTimeout(ctx, 5*time.Second)
	msg, ok := m.(*redis.Message)
	if err != nil || !ok {
		t.Fatalf("waiting for a notification got %v, %v", m, err)
	}
	return msg.Payload
}

// hasInOrder reports whether msgs are exactly one message per marker of
// want, in that order.
func hasInOrder(msgs, want []string) bool {
	if len(msgs) != len(want) {
		return false
	}
	for i, m := range msgs {
		if !strings.Contains(m, want[i]) {
			return false
		}
	}
	return true
}

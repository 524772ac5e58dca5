package consume

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
)

// rulesForTest are three rules over two receivers; want says, without the
// filter code, which of them an event must reach.
func rulesForTest(t *testing.T, rdb redis.UniversalClient, hooks, chat *receiver) func(ev flow.Event) []string {
	addRule(t, rdb, "spy-sweeps", filter.Filter{Symbols: []string{"spy"}, Kinds: []string{"sweep"}},
		deliver.Destination{Type: deliver.Webhook, URL: hooks.URL + "/spy"})
	addRule(t, rdb, "aapl", filter.Filter{Symbols: []string{"AAPL"}},
		deliver.Destination{Type: deliver.Slack, URL: chat.URL + "/slack"})
	addRule(t, rdb, "high-score", filter.Filter{Symbols: []string{"*"}, MinScore: 50},
		deliver.Destination{Type: deliver.Webhook, URL: hooks.URL + "/all"})
	return func(ev flow.Event) []string {
		var out []string
		if ev.Underlying == "SPY" && (ev.Kind == "sweep" || ev.Kind == "cancel") {
			out = append(out, "spy-sweeps")
		}
		if ev.Underlying == "AAPL" {
			out = append(out, "aapl")
		}
		if ev.Score >= 50 || ev.Kind == "cancel" {
			out = append(out, "high-score")
		}
		return out
	}
}

// randomEvents writes n events over a few underlyings and returns the
// idempotency keys the rules must deliver.
func randomEvents(t *testing.T, rdb redis.UniversalClient, n int, want func(flow.Event) []string) map[string]bool {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := map[string]bool{}
	for i := range n {
		ev := event(i, []string{"SPY", "AAPL", "QQQ", "TSLA"}[rng.IntN(4)],
			[]string{"trade", "sweep", "block", "cancel"}[rng.IntN(4)], int32(rng.IntN(100)))
		id := add(t, rdb, ev)
		for _, rule := range want(ev) {
			keys[rule+":"+id] = true
		}
	}
	return keys
}

func checkDelivered(t *testing.T, want, got map[string]bool) {
	t.Helper()
	for k := range want {
		if !got[k] {
			t.Errorf("alert %s was not delivered", k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("alert %s was delivered but no rule wants it", k)
		}
	}
}

func union(rs ...*receiver) map[string]bool {
	out := map[string]bool{}
	for _, r := range rs {
		for k := range r.unique() {
			out[k] = true
		}
	}
	return out
}

// TestEveryMatchDeliveredOnce runs two instances sharing the group: every
// (rule, event) pair reaches its receiver exactly once, the others not at
// all, and every entry ends acknowledged.
func TestEveryMatchDeliveredOnce(t *testing.T) {
	rdb := startRedis(t)
	hooks, chat := newReceiver(t), newReceiver(t)
	want := rulesForTest(t, rdb, hooks, chat)
	a := startInstance(t, rdb, "a", instanceConfig{consumer: Config{ClaimIdle: 5 * time.Second}})
	b := startInstance(t, rdb, "b", instanceConfig{consumer: Config{ClaimIdle: 5 * time.Second}})
	testkit.Eventually(t, 5*time.Second, "both instances joined the group", func() bool {
		return groupConsumers(t, rdb) == 2*testShards
	})

	keys := randomEvents(t, rdb, 300, want)
	testkit.Eventually(t, 20*time.Second, "every alert delivered", func() bool {
		return len(union(hooks, chat)) >= len(keys)
	})
	testkit.Eventually(t, 5*time.Second, "every entry acknowledged", func() bool {
		return pendingTotal(t, rdb) == 0
	})
	checkDelivered(t, keys, union(hooks, chat))
	if r := append(hooks.repeats(), chat.repeats()...); len(r) > 0 {
		t.Errorf("without a crash nothing may repeat; repeated: %q", r)
	}
	if len(hooks.bad) > 0 {
		t.Errorf("webhook signatures did not verify: %q", hooks.bad)
	}
	if dl := deadLetters(t, rdb); len(dl) > 0 {
		t.Errorf("dead letters: %v", dl)
	}
	read := testutil.ToFloat64(a.m.Entries.WithLabelValues("read")) + testutil.ToFloat64(b.m.Entries.WithLabelValues("read"))
	if read != 300 {
		t.Errorf("the instances read %v entries together, want 300", read)
	}
	matched := 0.0
	for _, in := range []*instance{a, b} {
		matched += testutil.ToFloat64(in.m.Matched.WithLabelValues(deliver.Webhook)) +
			testutil.ToFloat64(in.m.Matched.WithLabelValues(deliver.Slack))
	}
	if int(matched) != len(keys) {
		t.Errorf("matched %v alerts, want %d", matched, len(keys))
	}
}

func groupConsumers(t testing.TB, rdb redis.UniversalClient) int {
	n := 0
	for shard := range testShards {
		cs, err := rdb.XInfoConsumers(context.Background(), stream.Key(shard), "liveflow-alerts").Result()
		if err == nil {
			n += len(cs)
		}
	}
	return n
}

// TestTakeoverAfterKill kills an instance while receivers hold its
// requests: another instance takes its entries over after the claim idle
// time and delivers what is missing. A receiver de-duplicating by key
// processes every alert exactly once; the only repeats are the requests that
// were on the wire when the instance died.
func TestTakeoverAfterKill(t *testing.T) {
	rdb := startRedis(t)
	hooks, chat := newReceiver(t), newReceiver(t)
	want := rulesForTest(t, rdb, hooks, chat)
	// The first instance dies as a crash would: no grace for deliveries.
	a := startInstance(t, rdb, "a", instanceConfig{consumer: Config{ClaimIdle: 400 * time.Millisecond}})
	testkit.Eventually(t, 5*time.Second, "a joined the group", func() bool { return groupConsumers(t, rdb) == testShards })

	keys := randomEvents(t, rdb, 60, want)
	testkit.Eventually(t, 10*time.Second, "some alerts delivered", func() bool { return len(union(hooks, chat)) >= 20 })
	hooks.hold()
	chat.hold()
	more := randomEvents(t, rdb, 60, want)
	for k := range more {
		keys[k] = true
	}
	testkit.Eventually(t, 10*time.Second, "a is mid-delivery", func() bool {
		return hooks.heldCount()+chat.heldCount() >= 2
	})
	a.stop()
	// Requests the receivers got but never answered: a died with them on
	// the wire, one per destination at most.
	onWire := hooks.heldCount() + chat.heldCount()
	if got := len(union(hooks, chat)); got >= len(keys) {
		t.Fatalf("a delivered all %d alerts before it died; the test proves nothing", got)
	}
	if pendingTotal(t, rdb) == 0 {
		t.Fatal("a left nothing pending")
	}
	hooks.unhold()
	chat.unhold()

	b := startInstance(t, rdb, "b", instanceConfig{consumer: Config{ClaimIdle: 400 * time.Millisecond}})
	testkit.Eventually(t, 20*time.Second, "b delivered the rest", func() bool {
		return len(union(hooks, chat)) >= len(keys)
	})
	testkit.Eventually(t, 5*time.Second, "every entry acknowledged", func() bool {
		return pendingTotal(t, rdb) == 0
	})
	checkDelivered(t, keys, union(hooks, chat))
	repeats := append(hooks.repeats(), chat.repeats()...)
	if len(repeats) > onWire {
		t.Errorf("%d alerts repeated (%q); only the %d on the wire when a died may", len(repeats), repeats, onWire)
	}
	if c := testutil.ToFloat64(b.m.Entries.WithLabelValues("claimed")); c == 0 {
		t.Error("b claimed nothing; the rest cannot have come from a takeover")
	}
	if dl := deadLetters(t, rdb); len(dl) > 0 {
		t.Errorf("dead letters: %v", dl)
	}
	t.Logf("%d alerts; %d on the wire at the kill; %d repeated; b claimed %v entries",
		len(keys), onWire, len(repeats), testutil.ToFloat64(b.m.Entries.WithLabelValues("claimed")))
}

// TestServedRulesNotRepeated: an entry two rules match, of which one was
// delivered before its instance died, is delivered to the other rule only
// by the instance that takes it over.
func TestServedRulesNotRepeated(t *testing.T) {
	rdb := startRedis(t)
	fast, slow := newReceiver(t), newReceiver(t)
	addRule(t, rdb, "fast", filter.Filter{Symbols: []string{"MSFT"}}, deliver.Destination{Type: deliver.Webhook, URL: fast.URL})
	addRule(t, rdb, "slow", filter.Filter{Symbols: []string{"MSFT"}}, deliver.Destination{Type: deliver.Discord, URL: slow.URL})
	slow.hold()
	a := startInstance(t, rdb, "a", instanceConfig{consumer: Config{ClaimIdle: 300 * time.Millisecond}})
	testkit.Eventually(t, 5*time.Second, "a joined the group", func() bool { return groupConsumers(t, rdb) == testShards })
	id := add(t, rdb, event(1, "MSFT", "block", 80))
	testkit.Eventually(t, 5*time.Second, "both alerts sent", func() bool {
		return fast.unique()["fast:"+id] && slow.heldCount() == 1
	})
	a.stop()
	slow.unhold()

	startInstance(t, rdb, "b", instanceConfig{consumer: Config{ClaimIdle: 300 * time.Millisecond}})
	testkit.Eventually(t, 10*time.Second, "acknowledged after the takeover", func() bool {
		return pendingTotal(t, rdb) == 0
	})
	if n := fast.requests["fast:"+id]; n != 1 {
		t.Errorf("the served rule got %d requests, want 1", n)
	}
	if n := slow.requests["slow:"+id]; n != 2 {
		t.Errorf("the rule cut off got %d requests, want 2 (the one lost with a, and b's)", n)
	}
	shard, entry, _ := strings.Cut(id, "-")
	if n, _ := rdb.Exists(context.Background(), "alerts:done:liveflow-alerts:"+shard+":"+entry).Result(); n != 0 {
		t.Error("the record of served rules outlived the acknowledgement")
	}
}

// TestDeadLetters: entries that are not events, alerts the receiver
// refuses, entries trimmed while pending and entries handed out too often
// go to the dead-letter stream with their reason, and are acknowledged.
func TestDeadLetters(t *testing.T) {
	rdb := startRedis(t)
	ctx := context.Background()
	refusing := newReceiver(t)
	refusing.status = 404
	addRule(t, rdb, "refused", filter.Filter{Symbols: []string{"IBM"}}, deliver.Destination{Type: deliver.Webhook, URL: refusing.URL})
	key := stream.Key(stream.Shard("IBM", testShards))

	// A crashed consumer "ghost" holds two entries: one the stream has lost
	// since, one handed out more often than allowed.
	if err := rdb.XGroupCreateMkStream(ctx, key, "liveflow-alerts", "$").Err(); err != nil {
		t.Fatal(err)
	}
	trimmed := add(t, rdb, event(1, "IBM", "trade", 1))
	poison := add(t, rdb, event(2, "IBM", "trade", 1))
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "liveflow-alerts", Consumer: "ghost",
		Streams: []string{key, ">"}}).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.XDel(ctx, key, entryOf(trimmed))
	if err := rdb.Do(ctx, "XCLAIM", key, "liveflow-alerts", "ghost", 0, entryOf(poison), "RETRYCOUNT", 9).Err(); err != nil {
		t.Fatal(err)
	}

	for _, v := range [][]any{
		{stream.FieldUnderlying, "IBM", stream.FieldEvent, "not json"},
		{stream.FieldEvent, `{"kind":"trade"}`},
		{stream.FieldUnderlying, "IBM", stream.FieldEvent, `{"kind":5}`},
	} {
		rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: v})
	}
	refused := add(t, rdb, event(3, "IBM", "block", 90))

	in := startInstance(t, rdb, "a", instanceConfig{consumer: Config{ClaimIdle: 200 * time.Millisecond}})
	testkit.Eventually(t, 10*time.Second, "everything dead-lettered", func() bool { return len(deadLetters(t, rdb)) == 6 })
	testkit.Eventually(t, 5*time.Second, "everything acknowledged", func() bool { return pendingTotal(t, rdb) == 0 })

	reasons := map[string]int{}
	for _, d := range deadLetters(t, rdb) {
		reasons[d["reason"].(string)]++
		if d["reason"] == deliver.ReasonStatus4 {
			if d["rule"] != "refused" || d["event_id"] != refused || d["attempts"] != "1" || d["type"] != "webhook" {
				t.Errorf("refused alert recorded as %v", d)
			}
		}
		if d["reason"] == reasonPoison && d["event_id"] != poison {
			t.Errorf("poison record %v, want event %s", d, poison)
		}
	}
	want := map[string]int{reasonUndecodable: 3, reasonTrimmed: 1, reasonPoison: 1, deliver.ReasonStatus4: 1}
	for r, n := range want {
		if reasons[r] != n {
			t.Errorf("%d dead letters for %s, want %d (all: %v)", reasons[r], r, n, reasons)
		}
		if got := testutil.ToFloat64(in.m.DeadLettered.WithLabelValues(r)); int(got) != n {
			t.Errorf("dead-lettered metric for %s = %v, want %d", r, got, n)
		}
	}
	if n := refusing.requests["refused:"+refused]; n != 1 {
		t.Errorf("a refused alert was sent %d times; a 404 is permanent", n)
	}
}

// TestStreamRecreated: a shard stream that expires takes its group along;
// the reader makes the group again and delivers what the new stream holds.
func TestStreamRecreated(t *testing.T) {
	rdb := startRedis(t)
	hooks := newReceiver(t)
	addRule(t, rdb, "nvda", filter.Filter{Symbols: []string{"NVDA"}}, deliver.Destination{Type: deliver.Webhook, URL: hooks.URL})
	startInstance(t, rdb, "a", instanceConfig{})
	testkit.Eventually(t, 5*time.Second, "a joined the group", func() bool { return groupConsumers(t, rdb) == testShards })
	first := add(t, rdb, event(1, "NVDA", "trade", 1))
	testkit.Eventually(t, 5*time.Second, "the first alert", func() bool { return hooks.unique()["nvda:"+first] })

	rdb.Del(context.Background(), stream.Key(stream.Shard("NVDA", testShards)))
	second := add(t, rdb, event(2, "NVDA", "trade", 1))
	testkit.Eventually(t, 10*time.Second, "the alert of the new stream", func() bool { return hooks.unique()["nvda:"+second] })
}

// TestGracefulShutdown: an instance stopped with a grace finishes its
// deliveries and acknowledges them, leaving nothing for a takeover.
func TestGracefulShutdown(t *testing.T) {
	rdb := startRedis(t)
	hooks := newReceiver(t)
	addRule(t, rdb, "amd", filter.Filter{Symbols: []string{"AMD"}}, deliver.Destination{Type: deliver.Webhook, URL: hooks.URL})
	in := startInstance(t, rdb, "a", instanceConfig{consumer: Config{ShutdownGrace: 5 * time.Second}})
	testkit.Eventually(t, 5*time.Second, "a joined the group", func() bool { return groupConsumers(t, rdb) == testShards })
	hooks.hold()
	var ids []string
	for i := range 5 {
		ids = append(ids, add(t, rdb, event(i, "AMD", "trade", 1)))
	}
	testkit.Eventually(t, 5*time.Second, "a is mid-delivery with all five", func() bool {
		return hooks.heldCount() == 1 && in.c.inFlight() == 5
	})
	go func() {
		time.Sleep(100 * time.Millisecond)
		hooks.unhold()
	}()
	in.stop()
	if n := pendingTotal(t, rdb); n != 0 {
		t.Errorf("%d entries pending after a graceful stop, want 0", n)
	}
	got := hooks.unique()
	for _, id := range ids {
		if !got["amd:"+id] {
			t.Errorf("alert of %s not delivered before the stop", id)
		}
	}
	if slices.ContainsFunc(hooks.repeats(), func(string) bool { return true }) {
		t.Errorf("repeats: %q", hooks.repeats())
	}
}

// entryOf returns the stream entry id of an event id "<shard>-<entry>".
func entryOf(eventID string) string {
	_, entry, _ := strings.Cut(eventID, "-")
	return entry
}

// TestForgetsGoneConsumers: consumers that hold nothing and were silent for
// ForgetAfter leave the group; one holding a pending entry stays, so its
// entry can still be taken over.
func TestForgetsGoneConsumers(t *testing.T) {
	rdb := startRedis(t)
	ctx := context.Background()
	key := stream.Key(0)
	if err := rdb.XGroupCreateMkStream(ctx, key, "liveflow-alerts", "$").Err(); err != nil {
		t.Fatal(err)
	}
	rdb.XGroupCreateConsumer(ctx, key, "liveflow-alerts", "gone")
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"u", "X", "e", "{}"}})
	rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "liveflow-alerts", Consumer: "holding", Streams: []string{key, ">"}})
	time.Sleep(300 * time.Millisecond)
	// A long claim idle keeps the held entry where it is.
	startInstance(t, rdb, "a", instanceConfig{consumer: Config{ClaimIdle: time.Minute, ForgetAfter: 200 * time.Millisecond}})
	testkit.Eventually(t, 10*time.Second, "the idle consumer forgotten", func() bool {
		cs, _ := rdb.XInfoConsumers(ctx, key, "liveflow-alerts").Result()
		names := map[string]bool{}
		for _, c := range cs {
			names[c.Name] = true
		}
		return !names["gone"] && names["holding"] && names["a"]
	})
}

// TestInFlightBound: with room for few entries in flight and readers on
// every shard competing for it, reading pauses at the bound and resumes as
// alerts finish, never stalling.
func TestInFlightBound(t *testing.T) {
	rdb := startRedis(t)
	hooks := newReceiver(t)
	addRule(t, rdb, "all", filter.Filter{Symbols: []string{"*"}}, deliver.Destination{Type: deliver.Webhook, URL: hooks.URL})
	in := startInstance(t, rdb, "a", instanceConfig{consumer: Config{Batch: 2, MaxInFlight: 3}})
	testkit.Eventually(t, 5*time.Second, "a joined the group", func() bool { return groupConsumers(t, rdb) == testShards })
	hooks.hold()
	want := map[string]bool{}
	for i := range 40 {
		want["all:"+add(t, rdb, event(i, []string{"SPY", "QQQ", "AAPL", "TSLA", "AMD"}[i%5], "trade", 1))] = true
	}
	testkit.Eventually(t, 5*time.Second, "the bound reached", func() bool { return in.c.inFlight() == 3 })
	time.Sleep(200 * time.Millisecond)
	if n := in.c.inFlight(); n != 3 {
		t.Errorf("%d entries in flight, bound 3", n)
	}
	hooks.unhold()
	testkit.Eventually(t, 20*time.Second, "every alert delivered", func() bool { return len(hooks.unique()) == len(want) })
	checkDelivered(t, want, hooks.unique())
}

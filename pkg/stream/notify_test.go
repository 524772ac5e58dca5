package stream

import (
	"context"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/localredis/redistest"
)

func TestNotifyPublishesWhatWasAppended(t *testing.T) {
	rdb := redistest.Universal(t)
	ctx := context.Background()
	w, err := NewWriter(rdb, WriterConfig{Shards: 4, Notify: true})
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, rdb, 1, 2)

	raw := "\x00\xff\r\n" + `{"n":"bin"}` + "\x80"
	long := `{"pad":"` + strings.Repeat("x", 20_000) + `"}` // a three-byte length
	var b Batch
	b.Add(1, "ticks", 0, 10, "AAPL", []byte(`{"n":1}`), []byte(raw))
	b.Add(2, "ticks", 0, 11, "MSFT", []byte(long))
	b.Add(1, "ticks", 3, 7, "AAPL", []byte(`{"n":3}`))
	if added, err := w.Write(ctx, &b); err != nil || added != 4 {
		t.Fatalf("Write = %d, %v; want 4", added, err)
	}
	got := map[string]Notification{}
	for range 2 {
		m := receive(t, sub)
		got[m.Channel] = parse(t, m.Payload)
	}
	for _, shard := range []int{1, 2} {
		want := Notification{Prev: "0-0", Entries: streamEntries(t, rdb, shard, "-")}
		if n := got[Channel(shard)]; !reflect.DeepEqual(n, want) {
			t.Errorf("shard %d: notification %+v, want one message with every entry %+v", shard, n, want)
		}
	}

	// The next append names the newest entry as its predecessor.
	before := got[Channel(1)].Entries[2].ID
	b.Reset()
	b.Add(1, "ticks", 0, 12, "AAPL", []byte(`{"n":4}`))
	if _, err := w.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	n := parse(t, receive(t, sub).Payload)
	if want := streamEntries(t, rdb, 1, "("+before); n.Prev != before || !reflect.DeepEqual(n.Entries, want) {
		t.Errorf("second notification %+v, want prev %s and %+v", n, before, want)
	}
}

func TestNotifySkipsReplays(t *testing.T) {
	rdb := redistest.Universal(t)
	ctx := context.Background()
	w, err := NewWriter(rdb, WriterConfig{Shards: 4, Notify: true})
	if err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, rdb, 1)
	var b Batch
	b.Add(1, "ticks", 0, 10, "AAPL", []byte(`{"n":1}`))
	if _, err := w.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	first := parse(t, receive(t, sub).Payload)

	// The whole batch again, as after a crash before the offset commit:
	// nothing is added, so nothing is published.
	if added, err := w.Write(ctx, &b); err != nil || added != 0 {
		t.Fatalf("replayed Write = %d, %v; want 0", added, err)
	}
	// A replay mixed with new ticks of the same shard: only the new
	// ticks' entries are announced, the older offset 9 is skipped.
	b.Add(1, "ticks", 0, 11, "AAPL", []byte(`{"n":2}`))
	b.Add(1, "ticks", 0, 9, "AAPL", []byte(`{"n":"stale"}`))
	b.Add(1, "ticks", 1, 3, "AAPL", []byte(`{"n":3}`))
	if added, err := w.Write(ctx, &b); err != nil || added != 2 {
		t.Fatalf("mixed Write = %d, %v; want 2", added, err)
	}
	n := parse(t, receive(t, sub).Payload)
	var events []string
	for _, e := range n.Entries {
		events = append(events, e.Event)
	}
	if n.Prev != first.Entries[0].ID || strings.Join(events, " ") != `{"n":2} {"n":3}` {
		t.Errorf("after replays got %+v; want prev %s and only the new entries", n, first.Entries[0].ID)
	}
	select {
	case m := <-sub.msgs:
		t.Errorf("replays published %v", m)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestNotifyOffPublishesNothing(t *testing.T) {
	rdb := redistest.Universal(t)
	ctx := context.Background()
	sub := subscribe(t, rdb, 0)
	quiet, err := NewWriter(rdb, WriterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	loud, err := NewWriter(rdb, WriterConfig{Notify: true})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	b.Add(0, "ticks", 0, 1, "SPY", []byte(`{"n":1}`))
	if _, err := quiet.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.Add(0, "ticks", 0, 2, "SPY", []byte(`{"n":2}`))
	if _, err := loud.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	// The first message is the second write's; it names the quiet entry
	// as its predecessor, which is how a subscriber learns of a gap.
	all := streamEntries(t, rdb, 0, "-")
	n := parse(t, receive(t, sub).Payload)
	if n.Prev != all[0].ID || len(n.Entries) != 1 || n.Entries[0] != all[1] {
		t.Errorf("got %+v, want only the notified entry after %s", n, all[0].ID)
	}
}

func TestParseNotificationRejects(t *testing.T) {
	ok := encode(Notification{Prev: "5-0", Entries: []Entry{{"5-1", "A", "{}"}, {"6-0", "B", "{}"}}})
	if _, err := ParseNotification(ok); err != nil {
		t.Fatalf("a good notification: %v", err)
	}
	tests := map[string]string{
		"empty":            "",
		"other version":    "\x02" + ok[1:],
		"no entries":       encode(Notification{Prev: "5-0"}),
		"truncated":        ok[:len(ok)-1],
		"trailing byte":    ok + "\x01",
		"endless length":   "\x01\xff\xff\xff\xff\xff\xff",
		"length too large": "\x01\x7f5-0",
		"bad prev":         encode(Notification{Prev: "5", Entries: []Entry{{"6-0", "A", "{}"}}}),
		"bad id":           encode(Notification{Prev: "5-0", Entries: []Entry{{"6-x", "A", "{}"}}}),
		"signed id":        encode(Notification{Prev: "5-0", Entries: []Entry{{"-6-0", "A", "{}"}}}),
		"id at prev":       encode(Notification{Prev: "5-0", Entries: []Entry{{"5-0", "A", "{}"}}}),
		"ids out of order": encode(Notification{Prev: "5-0", Entries: []Entry{{"7-0", "A", "{}"}, {"6-9", "B", "{}"}}}),
	}
	for name, payload := range tests {
		if n, err := ParseNotification(payload); err == nil {
			t.Errorf("%s: accepted as %+v", name, n)
		}
	}
}

// FuzzParseNotification checks that the decoder of what arrives on a shard
// channel never panics, and that what it accepts is well-formed and encodes
// back to the same notification.
func FuzzParseNotification(f *testing.F) {
	f.Add(encode(Notification{Prev: "0-0", Entries: []Entry{{"1-0", "AAPL", `{"n":1}`}}}))
	f.Add(encode(Notification{Prev: "1-5", Entries: []Entry{{"1-6", "", ""}, {"2-0", "X", strings.Repeat("y", 200)}}}))
	f.Add("\x01\x030-0")
	f.Fuzz(func(t *testing.T, payload string) {
		n, err := ParseNotification(payload)
		if err != nil {
			return
		}
		if len(n.Entries) == 0 {
			t.Fatal("accepted a notification without entries")
		}
		again, err := ParseNotification(encode(n))
		if err != nil || !reflect.DeepEqual(again, n) {
			t.Fatalf("re-encoded %+v parses as %+v, %v", n, again, err)
		}
	})
}

// encode frames a notification as the append script does.
func encode(n Notification) string {
	b := []byte{notificationVersion}
	put := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	put(n.Prev)
	for _, e := range n.Entries {
		put(e.ID)
		put(e.Underlying)
		put(e.Event)
	}
	return string(b)
}

// listener receives the messages of several shard channels.
type listener struct {
	msgs chan *redis.Message
}

// subscribe listens to the channels of shards, each on a subscription of
// its own (in a cluster, channels of different slots cannot share one), and
// waits until Redis has confirmed every subscription.
func subscribe(t testing.TB, rdb redis.UniversalClient, shards ...int) *listener {
	t.Helper()
	ctx := context.Background()
	l := &listener{msgs: make(chan *redis.Message, 100)}
	for _, s := range shards {
		sub := rdb.SSubscribe(ctx, Channel(s))
		t.Cleanup(func() { sub.Close() })
		m, err := sub.ReceiveTimeout(ctx, 5*time.Second)
		if _, ok := m.(*redis.Subscription); !ok || err != nil {
			t.Fatalf("ssubscribe %s: got %v, %v", Channel(s), m, err)
		}
		go func() {
			for m := range sub.Channel() {
				l.msgs <- m
			}
		}()
	}
	return l
}

func receive(t testing.TB, l *listener) *redis.Message {
	t.Helper()
	select {
	case m := <-l.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("receive: no message within 5s")
		return nil
	}
}

func parse(t testing.TB, payload string) Notification {
	t.Helper()
	n, err := ParseNotification(payload)
	if err != nil {
		t.Fatalf("%v in %q", err, payload)
	}
	return n
}

// streamEntries returns a shard's entries from start on, as notified.
func streamEntries(t testing.TB, rdb redis.UniversalClient, shard int, start string) []Entry {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), Key(shard), start, "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []Entry
	for _, m := range msgs {
		u, _ := m.Values[FieldUnderlying].(string)
		e, _ := m.Values[FieldEvent].(string)
		out = append(out, Entry{ID: m.ID, Underlying: u, Event: e})
	}
	return out
}

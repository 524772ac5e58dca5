package scorer

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/pkg/tick"
)

const (
	topic      = "ticks"
	flowTopic  = "flow"
	dlqTopic   = "ticks.dlq"
	partitions = 4
	shards     = 4
	waitLimit  = 10 * time.Second
)

// scoredAt is the clock of every scorer under test, so ScoredTS is known.
var scoredAt = time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC)

// harness is one private Kafka (kfake) and one private redis-server, plus the
// clients a test uses to feed the first and inspect both.
type harness struct {
	brokers  []string
	srv      *localredis.Server
	rdb      *redis.Client
	w        *stream.Writer
	producer *kgo.Client
	adm      *kadm.Client
	codec    *tick.Codec
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic, flowTopic, dlqTopic))
	if err != nil {
		tb.Fatalf("kfake: %v", err)
	}
	tb.Cleanup(c.Close)
	h := &harness{brokers: c.ListenAddrs()}

	// The client gives up on a dead server at once instead of redialling and
	// retrying for about two seconds per command, which only slows the
	// outage tests down: the scorer's own retry loop is what they test.
	h.srv = redistest.Start(tb)
	h.rdb = redis.NewClient(&redis.Options{Addr: h.srv.Addr(), DialerRetries: 1, MaxRetries: -1})
	tb.Cleanup(func() { h.rdb.Close() })
	h.w, err = stream.NewWriter(h.rdb, stream.WriterConfig{Shards: shards, TTL: time.Hour})
	if err != nil {
		tb.Fatal(err)
	}
	h.producer, err = kgo.NewClient(kgo.SeedBrokers(h.brokers...), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(0))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(h.producer.Close)
	h.adm = kadm.NewClient(h.producer)
	if h.codec, err = tick.NewCodec(); err != nil {
		tb.Fatal(err)
	}
	return h
}

// produce encodes ticks and produces them keyed by underlying, as ingest does.
func (h *harness) produce(tb testing.TB, ticks ...tick.Tick) {
	tb.Helper()
	recs := make([]*kgo.Record, 0, len(ticks))
	for i := range ticks {
		b, err := h.codec.Encode(&ticks[i])
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, &kgo.Record{Key: []byte(ticks[i].Underlying), Value: b})
	}
	h.produceRaw(tb, recs...)
}

func (h *harness) produceRaw(tb testing.TB, recs ...*kgo.Record) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := h.producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		tb.Fatalf("produce: %v", err)
	}
}

// offsets returns the group's committed offsets and the end offsets of the
// topic, by partition. A partition without a commit is absent from committed.
func (h *harness) offsets(tb testing.TB, group string) (committed, end map[int32]int64) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	fetched, err := h.adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		err = nil // the group has not formed yet: nothing is committed
	}
	if err != nil {
		tb.Fatalf("fetch offsets of %q: %v", group, err)
	}
	committed = make(map[int32]int64)
	fetched.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.Topic == topic && o.At >= 0 {
			committed[o.Partition] = o.At
		}
	})
	listed, err := h.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		tb.Fatalf("list end offsets: %v", err)
	}
	end = make(map[int32]int64)
	listed.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })
	return committed, end
}

// caughtUp reports whether the group has committed every record of the topic.
func (h *harness) caughtUp(tb testing.TB, group string) bool {
	tb.Helper()
	committed, end := h.offsets(tb, group)
	for p, e := range end {
		if e > 0 && committed[p] < e {
			return false
		}
	}
	return true
}

// waitCaughtUp waits until the group has committed every record of the topic.
func (h *harness) waitCaughtUp(tb testing.TB, group, what string) {
	tb.Helper()
	waitFor(tb, what, func() bool { return h.caughtUp(tb, group) })
}

// events reads every shard stream and returns the events by underlying, in
// stream order. It fails the test if an entry sits in the wrong shard or its
// "u" field disagrees with the event.
func (h *harness) events(tb testing.TB) map[string][]flow.Event {
	tb.Helper()
	out := make(map[string][]flow.Event)
	for n := range shards {
		entries, err := h.rdb.XRange(context.Background(), stream.Key(n), "-", "+").Result()
		if err != nil {
			tb.Fatalf("XRANGE %s: %v", stream.Key(n), err)
		}
		for _, e := range entries {
			u, _ := e.Values[stream.FieldUnderlying].(string)
			raw, _ := e.Values[stream.FieldEvent].(string)
			var ev flow.Event
			if err := json.Unmarshal([]byte(raw), &ev); err != nil {
				tb.Fatalf("entry %s of %s: %v", e.ID, stream.Key(n), err)
			}
			if ev.Underlying != u || stream.Shard(u, shards) != n {
				tb.Fatalf("entry %s of %s: u=%q, event underlying %q, want shard %d",
					e.ID, stream.Key(n), u, ev.Underlying, stream.Shard(u, shards))
			}
			out[u] = append(out[u], ev)
		}
	}
	return out
}

// flowRecords reads the flow topic to its end and returns every event in
// partition order, failing the test on a record that does not decode or
// whose Kafka key is not its underlying.
func (h *harness) flowRecords(tb testing.TB) []flow.Event {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	ends, err := h.adm.ListEndOffsets(ctx, flowTopic)
	if err != nil {
		tb.Fatal(err)
	}
	need := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			need[o.Partition] = o.Offset
		}
	})
	var out []flow.Event
	if len(need) == 0 {
		return out
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokers...), kgo.ConsumeTopics(flowTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	codec, err := flow.NewCodec()
	if err != nil {
		tb.Fatal(err)
	}
	for len(need) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			tb.Fatalf("flow topic not read to its end %v within %s", need, waitLimit)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			var e flow.Event
			if err := codec.Decode(r.Value, &e); err != nil {
				tb.Fatalf("flow record %d/%d: %v", r.Partition, r.Offset, err)
			}
			if string(r.Key) != e.Underlying {
				tb.Fatalf("flow record %d/%d keyed %q, underlying %q", r.Partition, r.Offset, r.Key, e.Underlying)
			}
			out = append(out, e)
			if r.Offset+1 >= need[r.Partition] {
				delete(need, r.Partition)
			}
		})
	}
	return out
}

// flowByUnderlying groups flow events by underlying, dropping records whose
// key was seen before, as a reader of the topic does.
func flowByUnderlying(events []flow.Event) (byUnderlying map[string][]flow.Event, dups int) {
	seen := map[string]bool{}
	byUnderlying = map[string][]flow.Event{}
	for _, e := range events {
		if seen[e.Key] {
			dups++
			continue
		}
		seen[e.Key] = true
		byUnderlying[e.Underlying] = append(byUnderlying[e.Underlying], e)
	}
	return byUnderlying, dups
}

func (h *harness) eventCount(tb testing.TB) int {
	tb.Helper()
	n := 0
	for _, evs := range h.events(tb) {
		n += len(evs)
	}
	return n
}

// run is a scorer running in its own goroutine.
type run struct {
	s       *Scorer
	metrics *Metrics
	log     *testkit.Logs
	cancel  context.CancelFunc
	done    chan error
	stopped bool // stop was called; only the test goroutine touches it
}

// newScorer creates a scorer in group on the harness, with its own metrics
// registry and a fixed clock, without running it.
func (h *harness) newScorer(tb testing.TB, group string) *run {
	tb.Helper()
	r := &run{metrics: NewMetrics(prometheus.NewRegistry()), log: &testkit.Logs{}}
	s, err := New(Config{Brokers: h.brokers, Topic: topic, Group: group, ClientID: "scorer-test",
		FlowTopic: flowTopic, DeadLetterTopic: dlqTopic}, h.w, r.log, r.metrics)
	if err != nil {
		tb.Fatal(err)
	}
	s.now = func() time.Time { return scoredAt }
	r.s = s
	return r
}

// start creates a scorer and runs it until the test ends or stop is called.
func (h *harness) start(tb testing.TB, group string) *run {
	tb.Helper()
	r := h.newScorer(tb, group)
	r.run(tb)
	return r
}

func (r *run) run(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.s.Run(ctx) }()
	tb.Cleanup(func() { r.stop(tb) })
}

// stop cancels Run and waits for it, failing if it takes longer than limit.
// It returns how long Run took to return. Only the first call waits.
func (r *run) stop(tb testing.TB) time.Duration {
	tb.Helper()
	const limit = 3 * time.Second
	start := time.Now()
	if r.stopped {
		return 0
	}
	r.stopped = true
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			tb.Errorf("Run returned %v, want nil on cancellation", err)
		}
	case <-time.After(limit):
		tb.Fatalf("Run did not return within %s of its context ending", limit)
	}
	return time.Since(start)
}

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	testkit.Eventually(tb, waitLimit, what, cond)
}

// Tick builders. ts counts seconds after the open so ticks stay ordered.

const (
	aaplCall = "AAPL  261218C00200000"
	msftPut  = "MSFT  261218P00400000"
	spyCall  = "SPY   261218C00600000"
)

func ts(sec int) int64 { return scoredAt.Add(time.Duration(sec) * time.Second).UnixNano() }

func spot(u string, sec int, price float64) tick.Tick {
	return tick.Tick{Type: tick.Spot, TS: ts(sec), Underlying: u, Price: price,
		Conditions: []string{}}
}

func quote(u, symbol string, sec int, bid, ask float64) tick.Tick {
	return tick.Tick{Type: tick.Quote, TS: ts(sec), Underlying: u, Symbol: symbol,
		Bid: bid, Ask: ask, BidSize: 10, AskSize: 10, Conditions: []string{}}
}

func trade(u, symbol string, sec int, price float64, size int64) tick.Tick {
	return tick.Tick{Type: tick.Trade, TS: ts(sec), IngestTS: ts(sec), Underlying: u,
		Symbol: symbol, Price: price, Size: size, Exchange: "CBOE", Conditions: []string{}}
}

// read returns every record of a topic, partition by partition in offset
// order, reading it to its end.
func (h *harness) read(tb testing.TB, name string) []*kgo.Record {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	ends, err := h.adm.ListEndOffsets(ctx, name)
	if err != nil {
		tb.Fatal(err)
	}
	need := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			need[o.Partition] = o.Offset
		}
	})
	byPartition := map[int32][]*kgo.Record{}
	if len(need) > 0 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(h.brokers...), kgo.ConsumeTopics(name),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			tb.Fatal(err)
		}
		defer cl.Close()
		for len(need) > 0 {
			fetches := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				tb.Fatalf("%s not read to its end %v within %s", name, need, waitLimit)
			}
			fetches.EachRecord(func(r *kgo.Record) {
				byPartition[r.Partition] = append(byPartition[r.Partition], r)
				if r.Offset+1 >= need[r.Partition] {
					delete(need, r.Partition)
				}
			})
		}
	}
	var out []*kgo.Record
	for p := range int32(partitions) {
		out = append(out, byPartition[p]...)
	}
	return out
}

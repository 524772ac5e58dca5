package scorer

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/pkg/topics"
)

// session is three underlyings interleaved as a feed would send them: spots
// and quotes first, then five trades.
func session() []tick.Tick {
	return []tick.Tick{
		spot("AAPL", 1, 200),
		spot("MSFT", 1, 410),
		spot("SPY", 1, 600),
		quote("AAPL", aaplCall, 2, 5.00, 5.20),
		quote("MSFT", msftPut, 2, 3.00, 3.40),
		trade("AAPL", aaplCall, 3, 5.20, 10),
		trade("MSFT", msftPut, 5, 3.00, 20),
		trade("AAPL", aaplCall, 4, 5.30, 600),
		trade("SPY", spyCall, 7, 1.00, 1),
		trade("MSFT", msftPut, 6, 2.90, 5),
	}
}

const sessionTrades = 5

func TestScoresTicksIntoShardStreams(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.start(t, "scorers")
	h.produce(t, session()...)

	// Offsets are committed only after the batch is in Redis, so once they
	// reach the end of every partition every event must already be there.
	h.waitCaughtUp(t, "scorers", "offsets committed to the end of the topic")
	got := h.events(t)

	type want struct {
		size      int64
		kind      string
		side      string
		sentiment string
		score     int32
		spot      float64
	}
	// Scores by the published rules: every contract is 15 days from expiry
	// (5 points) and within 5% of the money (10 points); then premium points
	// (10 per tenfold above $1,000), 10 at a quote or 15 through it, and 10
	// for a block: $5,200 at the ask 7+10; $318,000 above it 25+15+10;
	// $6,000 at the bid 7+10; $1,450 below it 1+15; $100 without a quote 0.
	wants := map[string][]want{
		"AAPL": {
			{10, flow.KindTrade, flow.SideAsk, flow.Bullish, 32, 200},
			{600, flow.KindBlock, flow.SideAboveAsk, flow.Bullish, 65, 200},
		},
		"MSFT": {
			{20, flow.KindTrade, flow.SideBid, flow.Bullish, 32, 410},
			{5, flow.KindTrade, flow.SideBelowBid, flow.Bullish, 31, 410},
		},
		"SPY": {
			{1, flow.KindTrade, flow.SideUnknown, flow.Neutral, 15, 600},
		},
	}
	if len(got) != len(wants) {
		t.Errorf("events for %d underlyings, want %d: %v", len(got), len(wants), got)
	}
	for u, ws := range wants {
		evs := got[u]
		if len(evs) != len(ws) {
			t.Errorf("%s: %d events, want %d: %+v", u, len(evs), len(ws), evs)
			continue
		}
		for i, w := range ws {
			e := evs[i]
			g := want{e.Size, e.Kind, e.Side, e.Sentiment, e.Score, e.Spot}
			if g != w {
				t.Errorf("%s event %d = %+v, want %+v", u, i, g, w)
			}
			if e.ScoredTS != scoredAt.UnixNano() || e.IngestTS != e.TS {
				t.Errorf("%s event %d: scored_ts %d, ingest_ts %d; want %d and the tick's ts %d",
					u, i, e.ScoredTS, e.IngestTS, scoredAt.UnixNano(), e.TS)
			}
		}
	}

	m := r.metrics
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"ticks{trade}", testutil.ToFloat64(m.Ticks.WithLabelValues("trade")), sessionTrades},
		{"ticks{spot}", testutil.ToFloat64(m.Ticks.WithLabelValues("spot")), 3},
		{"events{trade}", testutil.ToFloat64(m.Events.WithLabelValues(flow.KindTrade)), 4},
		{"events{block}", testutil.ToFloat64(m.Events.WithLabelValues(flow.KindBlock)), 1},
		{"duplicates", testutil.ToFloat64(m.Duplicates), 0},
		{"partitions", testutil.ToFloat64(m.Partitions), partitions},
	} {
		if c.got != c.want {
			t.Errorf("metric %s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestSkipsBadRecordsAndGoesOn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	valid := trade("AAPL", aaplCall, 1, 1, 1)
	encoded, err := h.codec.Encode(&valid)
	if err != nil {
		t.Fatal(err)
	}
	encode := func(tk tick.Tick) []byte {
		b, err := h.codec.Encode(&tk)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	with := func(tk tick.Tick, change func(*tick.Tick)) tick.Tick { change(&tk); return tk }
	otherSchema := append([]byte{0xC3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8}, encoded[10:]...)
	cases := []struct {
		name   string
		value  []byte
		reason string
	}{
		{"not avro", []byte("not avro at all"), tick.ReasonMalformed},
		{"empty value", nil, tick.ReasonMalformed},
		{"truncated avro", encoded[:len(encoded)-4], tick.ReasonMalformed},
		{"trailing bytes", append(encoded[:len(encoded):len(encoded)], 0), tick.ReasonMalformed},
		{"another schema", otherSchema, tick.ReasonSchema},
		{"json", []byte(`{"type":"trade","symbol":"AAPL  261218C00200000"}`), tick.ReasonMalformed},
		{"trade of size 0", encode(trade("AAPL", aaplCall, 1, 1, 0)), tick.ReasonValue},
		{"negative price", encode(trade("AAPL", aaplCall, 1, -1, 1)), tick.ReasonValue},
		{"NaN price", encode(trade("AAPL", aaplCall, 1, math.NaN(), 1)), tick.ReasonValue},
		{"symbol of another underlying", encode(trade("AAPL", msftPut, 1, 1, 1)), tick.ReasonSymbol},
		{"unparseable symbol", encode(trade("AAPL", "AAPL 2612", 1, 1, 1)), tick.ReasonSymbol},
		{"expired contract", encode(trade("AAPL", "AAPL  261127C00200000", 1, 1, 1)), tick.ReasonExpired},
		{"from the future", encode(with(valid, func(tk *tick.Tick) { tk.TS += int64(time.Hour) })),
			tick.ReasonFuture},
		{"ts in milliseconds", encode(with(valid, func(tk *tick.Tick) { tk.TS /= 1e6 })), tick.ReasonPast},
	}
	// All on one key, so one partition: the good trade comes after every
	// bad record and is only scored if the scorer goes on past them.
	for _, c := range cases {
		h.produceRaw(t, &kgo.Record{Key: []byte("AAPL"), Value: c.value,
			Headers: []kgo.RecordHeader{{Key: "case", Value: []byte(c.name)}}})
	}
	h.produce(t, trade("AAPL", aaplCall, 2, 5, 7))
	r := h.start(t, "scorers")

	h.waitCaughtUp(t, "scorers", "offsets committed to the end of the topic")
	evs := h.events(t)["AAPL"]
	if len(evs) != 1 || evs[0].Size != 7 {
		t.Errorf("AAPL events = %+v, want only the good trade of size 7", evs)
	}
	want := make(map[string]float64)
	for _, c := range cases {
		want[c.reason]++
	}
	for reason, n := range want {
		if got := testutil.ToFloat64(r.metrics.Rejected.WithLabelValues(reason)); got != n {
			t.Errorf("rejected{reason=%q} = %v, want %v", reason, got, n)
		}
	}
	if got := r.log.Count("warn", "record skipped"); got != len(cases) {
		t.Errorf("logged %d skipped records, want %d", got, len(cases))
	}

	// The offsets were committed, so every dead letter is in its topic:
	// the refused record as it was, where it came from and why.
	letters := h.read(t, dlqTopic)
	if len(letters) != len(cases) {
		t.Fatalf("%d dead letters, want %d", len(letters), len(cases))
	}
	for i, c := range cases {
		l := letters[i]
		hd := headers(l)
		if hd["case"] != c.name || hd[topics.HeaderReason] != c.reason || hd[topics.HeaderError] == "" ||
			hd[topics.HeaderTopic] != topic || hd[topics.HeaderOffset] != strconv.Itoa(i) ||
			hd[topics.HeaderPartition] != strconv.Itoa(int(l.Partition)) ||
			string(l.Key) != "AAPL" || !bytes.Equal(l.Value, c.value) {
			t.Errorf("dead letter %d = key %q, value %q, headers %v; want case %q, reason %q, offset %d",
				i, l.Key, l.Value, hd, c.name, c.reason, i)
		}
	}
	if got := testutil.ToFloat64(r.metrics.DeadLetterErrors); got != 0 {
		t.Errorf("dead letter errors = %v, want 0", got)
	}
}

// A flood of bad records is logged a few lines a second, every one counted
// and set aside.
func TestRejectLogIsRateLimited(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const flood = 200
	recs := make([]*kgo.Record, flood)
	for i := range recs {
		recs[i] = &kgo.Record{Key: []byte("AAPL"), Value: []byte("garbage")}
	}
	h.produceRaw(t, recs...)
	r := h.start(t, "scorers")
	h.waitCaughtUp(t, "scorers", "the flood committed")
	if got := testutil.ToFloat64(r.metrics.Rejected.WithLabelValues(tick.ReasonMalformed)); got != flood {
		t.Errorf("rejected{reason=malformed} = %v, want %d", got, flood)
	}
	if n := r.log.Count("warn", "record skipped"); n < 1 || n > rejectLogBurst+5 {
		t.Errorf("logged %d lines for %d bad records, want at least 1 and about %d", n, flood, rejectLogBurst)
	}
	if n := len(h.read(t, dlqTopic)); n != flood {
		t.Errorf("%d dead letters, want %d", n, flood)
	}
}

// A dead letter Kafka refuses is counted and logged; the partition goes on.
func TestRefusedDeadLetterDoesNotHoldThePartition(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.produceRaw(t, &kgo.Record{Key: []byte("AAPL"), Value: []byte("garbage")})
	h.produce(t, trade("AAPL", aaplCall, 2, 5, 7))
	r := &run{metrics: NewMetrics(prometheus.NewRegistry()), log: &testkit.Logs{}}
	s, err := New(Config{Brokers: h.brokers, Topic: topic, Group: "scorers", ClientID: "scorer-test",
		DeadLetterTopic: "no-such-topic"}, h.w, r.log, r.metrics)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return scoredAt }
	r.s = s
	r.run(t)
	h.waitCaughtUp(t, "scorers", "offsets committed past the refused dead letter")
	if evs := h.events(t)["AAPL"]; len(evs) != 1 {
		t.Errorf("AAPL events = %+v, want the good trade", evs)
	}
	if got := testutil.ToFloat64(r.metrics.DeadLetterErrors); got != 1 {
		t.Errorf("dead letter errors = %v, want 1", got)
	}
	if n := r.log.Count("warn", "dead letter refused by Kafka; the record stays only in its own topic"); n != 1 {
		t.Errorf("logged %d refused dead letters, want 1", n)
	}
}

func headers(r *kgo.Record) map[string]string {
	out := map[string]string{}
	for _, h := range r.Headers {
		out[h.Key] = string(h.Value)
	}
	return out
}

func TestReplayAddsNoEntries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// replay prepares a second pass over the topic and names its group.
		replay func(tb testing.TB, h *harness) string
	}{
		{"new group", func(testing.TB, *harness) string { return "other-scorers" }},
		{"offsets reset to 0", func(tb testing.TB, h *harness) string {
			tb.Helper()
			var zero kadm.Offsets
			for p := range int32(partitions) {
				zero.Add(kadm.Offset{Topic: topic, Partition: p, At: 0, LeaderEpoch: -1})
			}
			resp, err := h.adm.CommitOffsets(context.Background(), "scorers", zero)
			if err == nil {
				err = resp.Error()
			}
			if err != nil {
				tb.Fatalf("reset offsets: %v", err)
			}
			if h.caughtUp(tb, "scorers") {
				tb.Fatal("offsets still at the end after the reset")
			}
			return "scorers"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.produce(t, session()...)
			first := h.start(t, "scorers")
			h.waitCaughtUp(t, "scorers", "first pass committed")
			first.stop(t)
			if n := h.eventCount(t); n != sessionTrades {
				t.Fatalf("first pass wrote %d entries, want %d", n, sessionTrades)
			}

			group := c.replay(t, h)
			second := h.start(t, group)
			h.waitCaughtUp(t, group, "replay committed")
			if n := h.eventCount(t); n != sessionTrades {
				t.Errorf("after the replay the streams hold %d entries, want still %d",
					n, sessionTrades)
			}
			if got := testutil.ToFloat64(second.metrics.Duplicates); got != sessionTrades {
				t.Errorf("replay counted %v duplicates, want %d", got, sessionTrades)
			}
		})
	}
}

func TestRedisOutagePausesCommits(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.start(t, "scorers")
	h.produce(t, spot("AAPL", 1, 200), trade("AAPL", aaplCall, 2, 5, 1))
	h.waitCaughtUp(t, "scorers", "first tick committed")
	before, _ := h.offsets(t, "scorers")

	port := portOf(t, h.srv.Addr())
	h.srv.Kill()
	outage := []tick.Tick{
		trade("AAPL", aaplCall, 3, 5, 2),
		trade("MSFT", msftPut, 3, 3, 3),
		trade("SPY", spyCall, 3, 1, 4),
	}
	h.produce(t, outage...)
	waitFor(t, "failed Redis writes", func() bool {
		return testutil.ToFloat64(r.metrics.RedisErrors) >= 2
	})

	// The scorer has polled the new ticks and failed to write them at least
	// twice: had it committed them, the offsets would have moved by now.
	during, end := h.offsets(t, "scorers")
	if fmt.Sprint(during) != fmt.Sprint(before) {
		t.Errorf("offsets moved while Redis was down: %v, then %v (end %v)", before, during, end)
	}
	if h.caughtUp(t, "scorers") {
		t.Error("offsets reached the end of the topic while Redis was down")
	}
	if r.log.Count("warn", "redis write failed; retrying") == 0 {
		t.Error("no warning logged for the failed writes")
	}

	// A fresh server on the same port starts empty: only the events of the
	// outage arrive, through the same client, and then the offsets commit.
	srv, err := localredis.Start(context.Background(), localredis.Options{Port: port})
	if err != nil {
		t.Fatalf("restart redis on port %d: %v", port, err)
	}
	t.Cleanup(srv.Stop)
	h.waitCaughtUp(t, "scorers", "offsets committed after Redis came back")
	got := h.events(t)
	for _, tk := range outage {
		if evs := got[tk.Underlying]; len(evs) != 1 || evs[0].Size != tk.Size {
			t.Errorf("%s events after the outage = %+v, want one of size %d",
				tk.Underlying, evs, tk.Size)
		}
	}
}

// A batch in flight when the scorer is told to stop is finished: written
// to Redis and committed, so the next owner has nothing to replay.
func TestStopFinishesTheBatchInFlight(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.start(t, "scorers")
	h.produce(t, spot("AAPL", 1, 200))
	h.waitCaughtUp(t, "scorers", "first tick committed")

	// Writes wait while Redis is paused: the next batch is in flight.
	const pause = 1500 * time.Millisecond
	if err := h.rdb.Do(context.Background(), "CLIENT", "PAUSE", pause.Milliseconds(), "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	h.produce(t, trade("AAPL", aaplCall, 2, 5, 3))
	waitFor(t, "the trade consumed", func() bool {
		return testutil.ToFloat64(r.metrics.Ticks.WithLabelValues(string(tick.Trade))) == 1
	})
	took := r.stop(t)
	if took < pause/3 {
		t.Errorf("Run returned %s after cancel, before the paused write could finish", took)
	}
	if evs := h.events(t)["AAPL"]; len(evs) != 1 || evs[0].Size != 3 {
		t.Errorf("AAPL events = %+v, want the trade written before Run returned", evs)
	}
	if !h.caughtUp(t, "scorers") {
		t.Error("the batch in flight at the stop was not committed")
	}
}

// kfakeReader is the goroutine kfake starts for each request it reads.
const kfakeReader = "github.com/twmb/franz-go/pkg/kfake.(*clientConn).read.func1"

// TestRunStopsPromptly runs last and alone (not parallel), so the goroutines
// it checks for are its own.
func TestRunStopsPromptly(t *testing.T) {
	cases := []struct {
		name string
		// busy puts the running scorer in the state it is stopped in.
		busy func(tb testing.TB, h *harness, r *run)
	}{
		{"idle between polls", func(testing.TB, *harness, *run) {}},
		{"retrying a write while Redis is down", func(tb testing.TB, h *harness, r *run) {
			tb.Helper()
			h.srv.Kill()
			h.produce(tb, trade("AAPL", aaplCall, 2, 5, 1))
			waitFor(tb, "a failed Redis write", func() bool {
				return testutil.ToFloat64(r.metrics.RedisErrors) >= 1
			})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.produce(t, spot("AAPL", 1, 200), trade("AAPL", aaplCall, 2, 5, 1))
			// Kafka, Redis and their clients are the test's; anything the
			// scorer starts must be gone once Run returns. kfake starts a
			// reader goroutine per request, also for the test's own admin
			// requests, so its server side is not the scorer's to stop.
			ignore := []goleak.Option{
				goleak.IgnoreCurrent(),
				goleak.IgnoreAnyFunction(kfakeReader),
			}

			r := h.start(t, "scorers")
			h.waitCaughtUp(t, "scorers", "offsets committed")
			c.busy(t, h, r)

			took := r.stop(t)
			t.Logf("Run returned %s after cancel", took)
			if got := testutil.ToFloat64(r.metrics.Partitions); got != 0 {
				t.Errorf("partitions gauge = %v after Run returned, want 0", got)
			}
			goleak.VerifyNone(t, ignore...)
		})
	}
}

func portOf(tb testing.TB, addr string) int {
	tb.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestScorersShareTheGroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.start(t, "scorers")
	b := h.start(t, "scorers")
	owned := func() float64 {
		return testutil.ToFloat64(a.metrics.Partitions) + testutil.ToFloat64(b.metrics.Partitions)
	}
	waitFor(t, "both scorers to own partitions", func() bool {
		return owned() == partitions && testutil.ToFloat64(a.metrics.Partitions) > 0 &&
			testutil.ToFloat64(b.metrics.Partitions) > 0
	})
	h.produce(t, session()...)
	h.waitCaughtUp(t, "scorers", "the session committed")

	// When one leaves, the other takes all partitions over and goes on.
	a.stop(t)
	waitFor(t, "the remaining scorer to own every partition", func() bool {
		return testutil.ToFloat64(b.metrics.Partitions) == partitions
	})
	late := []tick.Tick{trade("AAPL", aaplCall, 9, 5, 11), trade("MSFT", msftPut, 9, 3, 12)}
	h.produce(t, late...)
	h.waitCaughtUp(t, "scorers", "the late ticks committed")
	if n := h.eventCount(t); n != sessionTrades+len(late) {
		t.Errorf("streams hold %d entries, want %d: each tick exactly once",
			n, sessionTrades+len(late))
	}
	if got := testutil.ToFloat64(a.metrics.Partitions); got != 0 {
		t.Errorf("the stopped scorer still counts %v partitions", got)
	}
}

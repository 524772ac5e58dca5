package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/record"
	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
)

// cluster is a kfake cluster for one test, and its address.
type cluster struct {
	brokers string
	cl      *kgo.Client
	adm     *kadm.Client
}

// newCluster starts kfake with the seed topics, each of one partition, so
// a test sees records in the order it produced them.
func newCluster(t *testing.T, seed ...string) *cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if len(seed) > 0 {
		opts = append(opts, kfake.SeedTopics(1, seed...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &cluster{brokers: c.ListenAddrs()[0], cl: cl, adm: kadm.NewClient(cl)}
}

// result is what one flowctl command line did.
type result struct {
	code           int
	stdout, stderr string
}

// flowctl runs a command line in process, with LIVEFLOW_KAFKA_BROKERS set to
// brokers (when not empty) and nothing else in the environment.
func flowctl(t *testing.T, brokers string, args ...string) result {
	t.Helper()
	return flowctlTTY(t, false, brokers, args...)
}

// flowctlTTY is flowctl with stderr taken for a terminal or not.
func flowctlTTY(t *testing.T, tty bool, brokers string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := env{stdout: &out, stderr: &errb, tty: tty, getenv: func(k string) string {
		if k == "LIVEFLOW_KAFKA_BROKERS" {
			return brokers
		}
		return ""
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, e, args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func (r result) must(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

const testTape = "../e2e/testdata/tape.ndjson"

type tapeLine struct{ underlying, line string }

// goodTicks returns the tape's valid ticks as tape.Format writes them.
func goodTicks(t *testing.T, path string) []tapeLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []tapeLine
	r := tape.NewReader(f)
	for {
		tk, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			continue
		}
		b, err := tape.Format(&tk)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tapeLine{tk.Underlying, string(b)})
	}
}

func tapeParse(line string) (tick.Tick, error) { return tape.Parse([]byte(line)) }

func TestReplayProducesTheTapeAndTailReadsItBack(t *testing.T) {
	c := newCluster(t)
	r := flowctl(t, c.brokers, "replay", "-topic", "ticks", "-partitions", "3", "-speed", "0", testTape).must(t, 0)
	// The tape holds 22 lines, 3 of them bad: each is named, the rest sent.
	if !strings.Contains(r.stderr, "19 ticks produced to ticks, 3 lines rejected, 0 refused") {
		t.Errorf("replay summary missing:\n%s", r.stderr)
	}
	for _, want := range []string{"line 13: malformed", "line 14: bad_symbol", "line 20: unknown_type"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("replay did not report %q:\n%s", want, r.stderr)
		}
	}

	// Reading the ticks back as JSON gives tape lines again, keyed and
	// partitioned by underlying, each with its ingest time stamped.
	r = flowctl(t, c.brokers, "tail", "-topic", "ticks", "-from", "start", "-until-end").must(t, 0)
	got := lines(r.stdout)
	if len(got) != 19 {
		t.Fatalf("tail printed %d ticks, want 19:\n%s", len(got), r.stdout)
	}
	// Per underlying, the ticks come back in tape order, as tape lines.
	want := map[string][]string{}
	for _, l := range goodTicks(t, testTape) {
		want[l.underlying] = append(want[l.underlying], l.line)
	}
	have := map[string][]string{}
	for _, l := range got {
		tk, err := tapeParse(l)
		if err != nil {
			t.Fatalf("tail line %q: %v", l, err)
		}
		have[tk.Underlying] = append(have[tk.Underlying], l)
	}
	if fmt.Sprint(have) != fmt.Sprint(want) {
		t.Errorf("ticks read back differ from the tape\n got %v\nwant %v", have, want)
	}

	// On a terminal, replay and tail -until-end draw progress bars.
	r = flowctlTTY(t, true, c.brokers, "replay", "-topic", "ticks", "-speed", "0", testTape).must(t, 0)
	if !strings.Contains(r.stderr, "replaying "+testTape) || !strings.Contains(r.stderr, " \rflowctl replay: tape: line 13") {
		t.Errorf("replay drew no progress bar on a terminal:\n%q", r.stderr)
	}
	r = flowctlTTY(t, true, c.brokers, "tail", "-topic", "ticks", "-from", "start", "-until-end").must(t, 0)
	if !strings.Contains(r.stderr, "reading ticks") || strings.Contains(r.stdout, "reading") {
		t.Errorf("tail's progress bar is not on stderr alone:\n%q", r.stderr)
	}

	// Filters: one underlying, one type.
	r = flowctl(t, c.brokers, "tail", "-topic", "ticks", "-from", "start", "-until-end",
		"-underlying", "msft", "-kind", "trade", "-format", "csv").must(t, 0)
	rows := lines(r.stdout)
	if len(rows) < 2 || rows[0] != strings.Join(tickColumns, ",") {
		t.Fatalf("csv output:\n%s", r.stdout)
	}
	for _, row := range rows[1:] {
		if !strings.Contains(row, ",MSFT,trade,") {
			t.Errorf("row %q is not a MSFT trade", row)
		}
	}
}

// flowEvent builds a scored event as the scorer publishes it.
func flowEvent(key, underlying, kind string, premium float64, ts time.Time) flow.Event {
	e := flow.Event{Kind: kind, TS: ts.UnixNano(), Underlying: underlying,
		Symbol: underlying + "  261218C00200000", Right: "C", Side: flow.SideAsk, Sentiment: flow.Bullish,
		Price: 2, Size: int64(premium / 200), Premium: premium, Score: 40}
	e.Finish()
	e.Key = key
	return e
}

// produceFlow writes events to the flow topic as the scorer does, each with
// the given record time.
func (c *cluster) produceFlow(t *testing.T, codec *flow.Codec, events []flow.Event, at []time.Time) {
	t.Helper()
	for i := range events {
		b, err := codec.Encode(&events[i])
		if err != nil {
			t.Fatal(err)
		}
		rec := &kgo.Record{Topic: "flow", Key: []byte(events[i].Underlying), Value: b, Timestamp: at[i]}
		if err := c.cl.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTailFlowEvents(t *testing.T) {
	c := newCluster(t, "flow")
	codec, err := flow.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC)
	events := []flow.Event{
		flowEvent("0.1.0", "AAPL", flow.KindTrade, 5_000, base),
		flowEvent("0.2.0", "AAPL", flow.KindBlock, 300_000, base.Add(time.Second)),
		flowEvent("0.1.0", "AAPL", flow.KindTrade, 5_000, base), // a replayed copy
		flowEvent("1.7.0", "TSLA", flow.KindSweep, 1_200_000, base.Add(2*time.Second)),
		flowEvent("1.9.0", "TSLA", flow.KindCancel, 0, base.Add(3*time.Second)),
	}
	at := []time.Time{base, base.Add(time.Minute), base.Add(2 * time.Minute), base.Add(3 * time.Minute),
		base.Add(4 * time.Minute)}
	c.produceFlow(t, codec, events, at)

	keys := func(out string) []string {
		var ks []string
		for _, l := range lines(out) {
			var e flow.Event
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			ks = append(ks, e.Key)
		}
		return ks
	}
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"all, duplicates dropped", nil, []string{"0.1.0", "0.2.0", "1.7.0", "1.9.0"}},
		{"duplicates kept", []string{"-dedupe=false"}, []string{"0.1.0", "0.2.0", "0.1.0", "1.7.0", "1.9.0"}},
		{"one underlying", []string{"-underlying", "tsla"}, []string{"1.7.0", "1.9.0"}},
		// A cancel passes the kind and premium filters, as on the feed.
		{"sweeps and blocks of $100K", []string{"-kind", "sweep,block", "-min-premium", "100000"},
			[]string{"0.2.0", "1.7.0", "1.9.0"}},
		{"first two", []string{"-n", "2"}, []string{"0.1.0", "0.2.0"}},
		{"from a time", []string{"-from", base.Add(150 * time.Second).Format(time.RFC3339)}, []string{"1.7.0", "1.9.0"}},
		{"from an offset", []string{"-from", "1"}, []string{"0.2.0", "0.1.0", "1.7.0", "1.9.0"}},
	}
	for _, tc := range cases {
		args := []string{"tail", "-topic", "flow", "-from", "start", "-until-end"}
		r := flowctl(t, c.brokers, append(args, tc.args...)...).must(t, 0)
		if got := keys(r.stdout); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: keys %v, want %v", tc.name, got, tc.want)
		}
	}

	// The table has a header and one row per event, aligned.
	r := flowctl(t, c.brokers, "tail", "-topic", "flow", "-from", "start", "-until-end", "-format", "table").must(t, 0)
	rows := lines(r.stdout)
	if len(rows) != 5 || !strings.HasPrefix(rows[0], "TS ") || !strings.Contains(rows[2], "block") {
		t.Errorf("table:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "dropped 1 repeated events") {
		t.Errorf("the dropped duplicate is not reported: %s", r.stderr)
	}
}

func TestTailReportsUndecodableRecordsAndGoesOn(t *testing.T) {
	c := newCluster(t, "flow")
	codec, _ := flow.NewCodec()
	good := flowEvent("0.1.0", "AAPL", flow.KindTrade, 5_000, time.Now())
	b, _ := codec.Encode(&good)
	otherSchema := bytes.Clone(b)
	otherSchema[4] ^= 0xff
	for _, v := range [][]byte{[]byte("not avro"), otherSchema, b[:len(b)-3], {0, 0, 0, 0, 9, 1}, b} {
		if err := c.cl.ProduceSync(context.Background(), &kgo.Record{Topic: "flow", Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	r := flowctl(t, c.brokers, "tail", "-topic", "flow", "-from", "start", "-until-end").must(t, 1)
	if got := lines(r.stdout); len(got) != 1 || !strings.Contains(got[0], `"key":"0.1.0"`) {
		t.Errorf("the good record after the bad ones was not printed: %q", got)
	}
	for _, want := range []string{
		"offset 0: undecodable record: neither single-object Avro",
		"offset 1: undecodable record: single-object Avro of an unknown schema",
		"offset 2: undecodable record: record: decode dev.liveflow.FlowEvent: truncated record",
		"offset 3: undecodable record: framed for a schema registry (schema id 9); pass -schema-registry",
		"4 records could not be decoded",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestTailDecodesRegistryFramedRecords(t *testing.T) {
	c := newCluster(t, "flow")
	reg := srfake.New()
	defer reg.Close()
	rc, err := record.NewRegistry(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	codec, _ := flow.NewCodec()
	if err := codec.UseRegistry(context.Background(), rc, record.Subject("flow")); err != nil {
		t.Fatal(err)
	}
	e := flowEvent("2.5.0", "NVDA", flow.KindSweep, 250_000, time.Now())
	c.produceFlow(t, codec, []flow.Event{e}, []time.Time{time.Now()})

	r := flowctl(t, c.brokers, "tail", "-topic", "flow", "-from", "start", "-until-end",
		"-schema-registry", reg.URL()).must(t, 0)
	if !strings.Contains(r.stdout, `"key":"2.5.0"`) || !strings.Contains(r.stdout, `"kind":"sweep"`) {
		t.Errorf("registry-framed event not printed: %s", r.stdout)
	}
	r = flowctl(t, c.brokers, "tail", "-topic", "flow", "-from", "start", "-until-end").must(t, 1)
	if !strings.Contains(r.stderr, "pass -schema-registry") {
		t.Errorf("without a registry the error does not say what to do: %s", r.stderr)
	}
}

func TestTopicsCreateDescribeAndLag(t *testing.T) {
	c := newCluster(t)
	r := flowctl(t, c.brokers, "topics", "create", "-partitions", "2").must(t, 0)
	for _, want := range []string{"options.ticks: created with 2 partitions", "options.flow: created with 2 partitions",
		"options.scorer-state: created with 2 partitions"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("create output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = flowctl(t, c.brokers, "topics", "create", "-partitions", "2", "-flow-retention", "1h").must(t, 0)
	if !strings.Contains(r.stdout, "options.flow: exists with 2 partitions") ||
		!strings.Contains(r.stdout, `warning: retention.ms is "604800000", want "3600000"`) {
		t.Errorf("second create:\n%s", r.stdout)
	}
	r = flowctl(t, c.brokers, "topics", "describe", "-partitions", "2").must(t, 0)
	rows := lines(r.stdout)
	if len(rows) != 4 || !strings.Contains(rows[2], "options.flow") || !strings.Contains(rows[2], "delete") ||
		!strings.Contains(rows[2], "168h0m0s") || !strings.HasSuffix(rows[2], "ok") ||
		!strings.Contains(rows[3], "compact") {
		t.Errorf("describe:\n%s", r.stdout)
	}
	r = flowctl(t, c.brokers, "topics", "describe", "absent").must(t, 0)
	if !strings.Contains(r.stdout, "missing") {
		t.Errorf("describe of a missing topic:\n%s", r.stdout)
	}

	// A compacted topic under the flow topic's name cannot be used, and
	// create says so.
	resp, err := c.adm.CreateTopic(context.Background(), 1, -1, map[string]*string{"cleanup.policy": ptr("compact")}, "compacted")
	if err != nil || resp.Err != nil {
		t.Fatal(err, resp.Err)
	}
	r = flowctl(t, c.brokers, "topics", "create", "-flow-topic", "compacted", "-partitions", "2").must(t, 1)
	if !strings.Contains(r.stdout, `cleanup.policy is "compact", want "delete"`) {
		t.Errorf("create over a compacted flow topic:\n%s\n%s", r.stdout, r.stderr)
	}

	// Lag: a group that committed one of three records of a partition.
	var part int32
	for i := 0; i < 3; i++ {
		rec, err := c.cl.ProduceSync(context.Background(), &kgo.Record{Topic: "options.ticks",
			Key: []byte("SPY"), Value: []byte("x")}).First()
		if err != nil {
			t.Fatal(err)
		}
		part = rec.Partition
	}
	var offs kadm.Offsets
	offs.Add(kadm.Offset{Topic: "options.ticks", Partition: part, At: 1, LeaderEpoch: -1})
	if _, err := c.adm.CommitOffsets(context.Background(), "scorers", offs); err != nil {
		t.Fatal(err)
	}
	r = flowctl(t, c.brokers, "topics", "lag", "-group", "scorers").must(t, 0)
	if !strings.Contains(r.stdout, "GROUP") || !strings.Contains(r.stdout, "scorers") {
		t.Fatalf("lag:\n%s", r.stdout)
	}
	total := ""
	for _, row := range lines(r.stdout) {
		if strings.Contains(row, "total") {
			total = strings.Fields(row)[len(strings.Fields(row))-1]
		}
	}
	if total != "2" {
		t.Errorf("total lag %q, want 2:\n%s", total, r.stdout)
	}
}

func ptr(s string) *string { return &s }

func TestSchemaPrintAndCheck(t *testing.T) {
	r := flowctl(t, "", "schema", "print", "tick").must(t, 0)
	if !strings.Contains(r.stdout, `"name": "Tick"`) {
		t.Errorf("print tick:\n%s", r.stdout)
	}
	r = flowctl(t, "", "schema", "print", "-fingerprint").must(t, 0)
	codec, _ := flow.NewCodec()
	if got := strings.TrimSpace(r.stdout); got != hex.EncodeToString(codec.Fingerprint()) {
		t.Errorf("fingerprint %s, records carry %x", got, codec.Fingerprint())
	}
	r = flowctl(t, "", "schema", "print", "-canonical", "flow_event").must(t, 0)
	if strings.Contains(r.stdout, `"doc"`) || !strings.HasPrefix(r.stdout, `{"name":"dev.liveflow.FlowEvent"`) {
		t.Errorf("canonical form:\n%s", r.stdout)
	}
	flowctl(t, "", "schema", "check").must(t, 0)

	dir := t.TempDir()
	last := `{"name": "reasons", "type": {"type": "array", "items": "string"}, "doc": "One readable sentence per part that scored."}`
	current := flowctl(t, "", "schema", "print").stdout
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withDefault := write("ok.avsc", strings.Replace(current, last, last+`, {"name": "venue", "type": "string", "default": ""}`, 1))
	without := write("bad.avsc", strings.Replace(current, last, last+`, {"name": "venue", "type": "string"}`, 1))
	other := write("other.avsc", `{"type": "record", "name": "Other", "fields": []}`)

	r = flowctl(t, "", "schema", "check", withDefault).must(t, 0)
	if !strings.Contains(r.stdout, "ok.avsc: reads records written with flow_event v1") {
		t.Errorf("check of a compatible change:\n%s", r.stdout)
	}
	r = flowctl(t, "", "schema", "check", without).must(t, 1)
	if !strings.Contains(r.stdout, "bad.avsc: cannot read records written with flow_event v1") ||
		!strings.Contains(r.stderr, "add fields with defaults") {
		t.Errorf("check of a breaking change:\n%s\n%s", r.stdout, r.stderr)
	}
	r = flowctl(t, "", "schema", "check", other).must(t, 1)
	if !strings.Contains(r.stderr, "not a version of flow_event or tick") {
		t.Errorf("check of another schema: %s", r.stderr)
	}

	// With a registry, the newest registered version must be readable too.
	reg := srfake.New()
	defer reg.Close()
	rc, _ := record.NewRegistry(reg.URL())
	if _, err := rc.Register(context.Background(), "options.flow-value", current); err != nil {
		t.Fatal(err)
	}
	r = flowctl(t, "", "schema", "check", "-schema-registry", reg.URL(), withDefault).must(t, 0)
	if !strings.Contains(r.stdout, "reads records written with registry options.flow-value version 1") {
		t.Errorf("check against the registry:\n%s", r.stdout)
	}
}

func TestBadCommandLines(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: flowctl <command>"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"tail", "-format", "xml"}, 2, `-format "xml": want json, csv or table`},
		{[]string{"tail", "-from", "yesterday"}, 2, `-from "yesterday": want end, start`},
		{[]string{"tail", "-kind", "sweeps"}, 2, `unknown kind "sweeps"`},
		{[]string{"tail", "-n", "-1"}, 2, "-n -1"},
		{[]string{"tail", "-nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"tail", "-kafka-brokers", "localhost"}, 2, `-kafka-brokers "localhost"`},
		{[]string{"tail", "-schema-registry", "registry:8081"}, 2, "want an http:// or https:// URL"},
		{[]string{"replay"}, 2, "want one tape file, got 0"},
		{[]string{"replay", "-speed", "-1", "x"}, 2, "-speed -1"},
		{[]string{"topics"}, 2, "want a subcommand: describe, create or lag"},
		{[]string{"topics", "drop"}, 2, `unknown subcommand "drop"`},
		{[]string{"schema", "print", "quote"}, 2, `unknown schema "quote"`},
		{[]string{"schema", "lint"}, 2, `unknown subcommand "lint"`},
		{[]string{"replay", "-timeout", "1s", "no-such-tape.ndjson"}, 1, "no such file"},
		{[]string{"tail", "-kafka-brokers", "127.0.0.1:1", "-timeout", "1s"}, 1,
			"no Kafka broker answers at 127.0.0.1:1 within 1s (is -kafka-brokers right?)"},
		{[]string{"topics", "describe", "-kafka-brokers", "127.0.0.1:1", "-timeout", "1s"}, 1, "no Kafka broker answers"},
	}
	for _, c := range cases {
		r := flowctl(t, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("flowctl %q: exit %d, stderr %q; want exit %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	if r := flowctl(t, "", "tail", "-h"); r.code != 0 || !strings.Contains(r.stderr, "-underlying") {
		t.Errorf("tail -h: exit %d, %q", r.code, r.stderr)
	}
}

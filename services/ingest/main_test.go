package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/pkg/tick"
	"github.com/liveflow/liveflow/services/ingest/internal/vendortest"
)

func TestParseRejectsBadSettings(t *testing.T) {
	t.Setenv(keyEnv, "")
	tests := map[string][]string{
		"feed":             {"-feed", "ftp://x"},
		"empty file":       {"-feed", "file:"},
		"rate":             {"-rate", "0"},
		"burst":            {"-burst-factor", "0.5"},
		"replay speed":     {"-replay-speed", "-1"},
		"linger":           {"-linger", "-1ms"},
		"breaker":          {"-breaker-failures", "0"},
		"partitions":       {"-partitions", "0"},
		"underlyings":      {"-underlyings", "-3"},
		"brokers":          {"-kafka-brokers", "nohostport"},
		"polygon, no key":  {"-feed", "polygon:wss://socket.example.com/options"},
		"key in the URL":   {"-feed", "polygon:wss://socket.example.com/options?apiKey=x"},
		"missing key file": {"-vendor-key-file", "/nonexistent/key"},
		"synthetic second": {"-feed-secondary", "synthetic"},
		"same second":      {"-feed", "file:/tmp/a", "-feed-secondary", "file:/tmp/a"},
		"bad second":       {"-feed-secondary", "kafka:x"},
		"subscription":     {"-vendor-subscribe", "*,SPY"},
		"stall":            {"-vendor-stall", "-1s"},
		"handshake":        {"-vendor-handshake-timeout", "0s"},
		"gap hold":         {"-gap-hold", "-1s"},
		"status ttl":       {"-status-ttl", "1ms"},
		"status key":       {"-redis-addr", "127.0.0.1:6379", "-status-key", ""},
		"oi reload":        {"-oi-reload-at", "9"},
	}
	for name, args := range tests {
		if _, err := parse(args); err == nil {
			t.Errorf("%s: parse(%q) accepted", name, args)
		}
	}
}

func TestParseFeed(t *testing.T) {
	t.Setenv("LIVEFLOW_FEED", "file:/tmp/tape.ndjson")
	t.Setenv("LIVEFLOW_REPLAY_SPEED", "0")
	c, err := parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.spec.Kind != "file" || c.spec.Path != "/tmp/tape.ndjson" || c.replaySpeed != 0 {
		t.Errorf("parse = %+v, want the file feed at full speed", c)
	}
}

const testKey = "pk_main_SECRET_do_not_log_31337"

func TestParseVendorKey(t *testing.T) {
	t.Setenv(keyEnv, testKey)
	c, err := parse([]string{"-feed", "polygon:wss://socket.example.com/options", "-vendor-subscribe", "SPY,QQQ"})
	if err != nil {
		t.Fatal(err)
	}
	if c.key.Reveal() != testKey || len(c.params) != 4 {
		t.Errorf("key %v, params %v; want the key from %s and trades and quotes of 2 roots", c.key, c.params, keyEnv)
	}
	if strings.Contains(fmt.Sprintf("%+v %#v", c, c), testKey) {
		t.Error("printing the config shows the key")
	}
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parse([]string{"-vendor-key-file", path}); err == nil {
		t.Errorf("parse accepted a key both in %s and in a file", keyEnv)
	}
	t.Setenv(keyEnv, "")
	if c, err := parse([]string{"-vendor-key-file", path}); err != nil || c.key.Reveal() != testKey {
		t.Errorf("key from a file: %v, %v", c.key, err)
	}
}

// TestRunWithAVendorFeed runs the service as main does: a vendor feed that
// refuses the first connection, an open-interest snapshot, kfake and a
// real redis-server for the status. Kafka gets the session's ticks and the
// open interest, Redis the status, and the key shows nowhere in the logs.
func TestRunWithAVendorFeed(t *testing.T) {
	frames := vendortest.Frames(t, "session.frames")
	srv := vendortest.NewServer(t, testKey, func(n int) vendortest.Session {
		if n <= 2 { // refused long enough (two restart delays) for the status to show it
			return vendortest.Session{RejectAuth: true}
		}
		return vendortest.Session{Frames: frames}
	})
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "ticks"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	rdb, redisSrv := redistest.Client(t)
	snapshot := filepath.Join(t.TempDir(), "oi.json")
	if err := os.WriteFile(snapshot, []byte(`{"status":"OK","results":[`+
		`{"details":{"ticker":"O:SPY261218C00600000"},"open_interest":1200},`+
		`{"details":{"ticker":"O:AAPL261218P00190000"},"open_interest":350}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(testKey), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Setenv(keyEnv, "")
	cfg, err := parse([]string{"-feed", "polygon:" + srv.URL, "-vendor-key-file", keyFile,
		"-kafka-brokers", strings.Join(cluster.ListenAddrs(), ","), "-ticks-topic", "ticks", "-partitions", "4",
		"-linger", "0", "-ops-addr", "127.0.0.1:0", "-redis-addr", redisSrv.Addr(), "-status-ttl", "3s",
		"-oi-snapshot", snapshot, "-breaker-cooldown", "1s"})
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.DebugLevel)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, zap.New(core)) }()
	defer func() {
		cancel()
		<-done
	}()

	want := len(vendortest.Ticks(t, "session.ndjson")) + 2
	got := consume(t, cluster.ListenAddrs(), "ticks", want)
	types := map[tick.Type]int{}
	for _, tk := range got {
		types[tk.Type]++
	}
	if types[tick.OpenInterest] != 2 || types[tick.Trade]+types[tick.Quote] != want-2 {
		t.Errorf("consumed %v, want the session's ticks and 2 open interest", types)
	}

	testkit.Eventually(t, 10*time.Second, "status ok in Redis", func() bool {
		return rdb.HGet(context.Background(), cfg.statusKey, "state").Val() == "ok"
	})
	h := rdb.HGetAll(context.Background(), cfg.statusKey).Val()
	if h["feed"] != "polygon:"+srv.URL || h["reason"] != "" {
		t.Errorf("status hash %v", h)
	}
	if ttl := rdb.PTTL(context.Background(), cfg.statusKey).Val(); ttl <= 0 || ttl > 3*time.Second {
		t.Errorf("status TTL %s, want at most 3s", ttl)
	}
	if logs.FilterMessage("feed status: degraded").FilterField(zap.String("reason", "auth_failed")).Len() == 0 {
		t.Error("the refused key did not degrade the status")
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
	done <- nil
	if n := rdb.Exists(context.Background(), cfg.statusKey).Val(); n != 0 {
		t.Error("the status outlived the service")
	}
	for _, e := range logs.All() {
		line := fmt.Sprintf("%s %v", e.Message, e.ContextMap())
		if strings.Contains(line, testKey) {
			t.Errorf("the key is in the log: %s", line)
		}
	}
	if logs.FilterMessageSnippet("vendor refused the key").Len() != 2 {
		t.Error("the refused key was not logged")
	}
}

// consume reads n ticks of topic from its start.
func consume(tb testing.TB, brokers []string, topic string, n int) []tick.Tick {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		tb.Fatal(err)
	}
	defer cl.Close()
	codec, err := tick.NewCodec()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out []tick.Tick
	for len(out) < n {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			tb.Fatalf("consumed %d of %d ticks before the deadline", len(out), n)
		}
		for _, r := range fetches.Records() {
			var tk tick.Tick
			if err := codec.Decode(r.Value, &tk); err != nil {
				tb.Fatal(err)
			}
			out = append(out, tk)
		}
	}
	return out
}

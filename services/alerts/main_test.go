package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func keysFile(t *testing.T, key string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(key))
	p := filepath.Join(t.TempDir(), "keys.json")
	content := `{"keys":[{"sha256":"` + hex.EncodeToString(sum[:]) + `","user":"desk","firehose":true}]}`
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParse(t *testing.T) {
	keys := keysFile(t, "k")
	c, err := parse([]string{"-api-keys-file", keys})
	if err != nil {
		t.Fatal(err)
	}
	if c.consumer.Group != "liveflow-alerts" || c.consumer.ClaimIdle != 30*time.Second || c.deliver.Rates[deliver.Slack] != 1 ||
		c.deliver.BreakerFailures != 5 || !strings.Contains(c.consumer.Name, "-") || c.maxRules != 100 {
		t.Errorf("defaults: %+v", c)
	}
	t.Setenv("LIVEFLOW_CLAIM_IDLE", "2s")
	t.Setenv("LIVEFLOW_DISCORD_RATE", "0.25")
	if c, err := parse([]string{"-api-keys-file", keys, "-consumer-name", "a1"}); err != nil || c.consumer.ClaimIdle != 2*time.Second ||
		c.deliver.Rates[deliver.Discord] != 0.25 || c.consumer.Name != "a1" {
		t.Errorf("from the environment: %+v, %v", c, err)
	}

	for args, want := range map[string]string{
		"":                                 "needs credentials",
		"-shards 0":                        "-shards",
		"-claim-idle 10ms":                 "-claim-idle",
		"-max-attempts 0":                  "-max-attempts",
		"-backoff-base 2s -backoff-max 1s": "-backoff-base",
		"-slack-rate 0":                    "-slack-rate",
		"-destination-breaker-failures 0":  "-destination-breaker-failures",
		"-max-alert-age 10ms":              "-max-alert-age",
		"-max-in-flight 5":                 "-max-in-flight",
		"-consumer-group=":                 "-consumer-group",
	} {
		full := strings.Fields(args)
		if want != "needs credentials" {
			full = append(full, "-api-keys-file", keys)
		}
		if _, err := parse(full); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parse(%q) = %v, want an error naming %s", args, err, want)
		}
	}
}

// TestRunDeliversAlerts runs the service as main does: a rule created
// through the API delivers a signed alert for a matching event, /readyz and
// /metrics answer, and canceling the context stops everything.
func TestRunDeliversAlerts(t *testing.T) {
	_, srv := redistest.Client(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rdb.Close()
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	defer hook.Close()

	port, err := localredis.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cfg, err := parse([]string{"-http-addr", addr, "-redis-addr", srv.Addr(), "-api-keys-file", keysFile(t, "desk-key"),
		"-allow-private-destinations", "-shards", "4", "-claim-idle", "1s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, zap.NewNop()) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v, want nil after cancel", err)
		}
	}()
	base := "http://" + addr
	testkit.Eventually(t, 10*time.Second, "ready", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	req, _ := http.NewRequest("POST", base+"/v1/rules", strings.NewReader(
		`{"name":"blocks","filter":{"symbols":["AAPL"],"kinds":["block"]},"destination":{"type":"webhook","url":"`+hook.URL+`"}}`))
	req.Header.Set("Authorization", "Bearer desk-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		ID          string
		Destination struct{ Secret string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&rule)
	resp.Body.Close()
	if resp.StatusCode != 201 || rule.Destination.Secret == "" {
		t.Fatalf("create: %d %+v", resp.StatusCode, rule)
	}
	// The rule reaches the consumer within the rules' poll.
	time.Sleep(1500 * time.Millisecond)

	ev := flow.Event{Kind: "block", Underlying: "AAPL", Symbol: "AAPL  261218C00200000", Score: 60, Size: 900, Premium: 216_000}
	ev.Finish()
	b, _ := ev.JSON()
	shard := stream.Shard("AAPL", 4)
	entry, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream.Key(shard),
		Values: []any{stream.FieldUnderlying, "AAPL", stream.FieldEvent, b}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "the alert delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 1
	})
	h := got[0].Header
	if want := rule.ID + ":" + strconv.Itoa(shard) + "-" + entry; h.Get(deliver.HeaderIdempotencyKey) != want {
		t.Errorf("headers %v, want the key of rule %s and entry %s", h, rule.ID, entry)
	}
	if err := deliver.Verify(rule.Destination.Secret, h.Get(deliver.HeaderTimestamp), h.Get(deliver.HeaderSignature),
		bodies[0], time.Now(), time.Minute); err != nil {
		t.Error(err)
	}

	metrics := func() string {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// The receiver has the alert before the service has its answer.
	testkit.Eventually(t, 5*time.Second, "the delivery counted", func() bool {
		return strings.Contains(metrics(), "liveflow_alerts_delivered_total")
	})
	all := metrics()
	for _, m := range []string{`liveflow_alerts_delivered_total{type="webhook"} 1`, `liveflow_alerts_matched_total{type="webhook"} 1`,
		"liveflow_alerts_delivery_latency_seconds_bucket", `liveflow_alerts_api_requests_total{op="create",result="ok"} 1`} {
		if !strings.Contains(all, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
)

// hookReceiver is a webhook receiver that de-duplicates alerts by their
// Idempotency-Key, and can hold requests unanswered.
type hookReceiver struct {
	mu       sync.Mutex
	requests map[string]int            // idempotency key -> requests
	events   map[string]map[string]any // idempotency key -> the event of the first request
	held     int
	release  chan struct{} // nil while not holding
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Event map[string]any `json:"event"`
	}
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &body)
	key := r.Header.Get("Idempotency-Key")
	h.mu.Lock()
	if h.requests[key] == 0 {
		h.events[key] = body.Event
	}
	h.requests[key]++
	release := h.release
	if release != nil {
		h.held++
	}
	h.mu.Unlock()
	if release != nil {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// state returns the events received, once per idempotency key in stream
// order, how many keys came more than once, and how many requests were held.
func (h *hookReceiver) state() (events []map[string]any, repeats, held int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, n := range h.requests {
		events = append(events, h.events[k])
		if n > 1 {
			repeats++
		}
	}
	// A takeover may deliver out of order; the stream order is the ids'.
	sort.Slice(events, func(i, j int) bool {
		return entryOrder(events[i]["id"]) < entryOrder(events[j]["id"])
	})
	return events, repeats, h.held
}

// entryOrder makes an event id "<shard>-<ms>-<seq>" sortable by entry.
func entryOrder(id any) string {
	var shard, ms, seq uint64
	_, _ = fmt.Sscanf(fmt.Sprint(id), "%d-%d-%d", &shard, &ms, &seq)
	return fmt.Sprintf("%020d-%020d", ms, seq)
}

// TestAlertsTakeOverAKilledInstance replays the known tape through ingest
// and scorer to an alerts process holding a rule for the whole feed. The
// receiver holds the first alert unanswered; the alerts process is killed
// (SIGKILL) mid-delivery; a second process takes its entries over after the
// claim idle time. The receiver, de-duplicating by key, ends with every
// expected event exactly once, and nothing is left pending in the group.
func TestAlertsTakeOverAKilledInstance(t *testing.T) {
	s := startStack(t)
	recv := &hookReceiver{requests: map[string]int{}, events: map[string]map[string]any{}, release: make(chan struct{})}
	hook := httptest.NewServer(recv)
	defer hook.Close()
	defer func() {
		recv.mu.Lock()
		if recv.release != nil {
			close(recv.release)
			recv.release = nil
		}
		recv.mu.Unlock()
	}()

	sum := sha256.Sum256([]byte("e2e-key"))
	keys := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(keys, []byte(`{"keys":[{"sha256":"`+hex.EncodeToString(sum[:])+`","user":"desk","firehose":true}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	alertsEnv := func(addr string) []string {
		return []string{"LIVEFLOW_HTTP_ADDR=" + addr, "LIVEFLOW_API_KEYS_FILE=" + keys,
			"LIVEFLOW_ALLOW_PRIVATE_DESTINATIONS=true", "LIVEFLOW_CLAIM_IDLE=1s", "LIVEFLOW_WEBHOOK_RATE=1000",
			"LIVEFLOW_SHUTDOWN_GRACE=0s"}
	}
	scorerOps, ingestOps, alertsA, alertsB := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	if _, err := s.Service(binDir, "scorer", "LIVEFLOW_OPS_ADDR="+scorerOps, "LIVEFLOW_GROUP=e2e-"+s.Topic); err != nil {
		t.Fatal(err)
	}
	a, err := s.Service(binDir, "alerts", alertsEnv(alertsA)...)
	if err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, "http://"+alertsA+"/readyz", 30*time.Second)
	waitHTTP(t, "http://"+scorerOps+"/readyz", 30*time.Second)

	req, _ := http.NewRequest("POST", "http://"+alertsA+"/v1/rules",
		strings.NewReader(`{"name":"everything","filter":{"symbols":["*"]},"destination":{"type":"webhook","url":"`+hook.URL+`"}}`))
	req.Header.Set("Authorization", "Bearer e2e-key")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create rule: %d", resp.StatusCode)
	}
	// The instance that served the request loads the rule at once; this
	// one is the only instance yet.
	time.Sleep(1500 * time.Millisecond)

	if _, err := s.Service(binDir, "ingest", "LIVEFLOW_OPS_ADDR="+ingestOps,
		"LIVEFLOW_FEED=file:testdata/tape.ndjson", "LIVEFLOW_REPLAY_SPEED=0"); err != nil {
		t.Fatal(err)
	}
	expected := readLines(t, "testdata/expected.ndjson")
	deadline := time.Now().Add(30 * time.Second)
	for _, _, held := recv.state(); held == 0; _, _, held = recv.state() {
		if time.Now().After(deadline) {
			t.Fatal("no alert reached the receiver within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.Kill()
	_, _, onWire := recv.state()
	recv.mu.Lock()
	close(recv.release)
	recv.release = nil
	recv.mu.Unlock()

	if _, err := s.Service(binDir, "alerts", alertsEnv(alertsB)...); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		unique, _, _ := recv.state()
		if len(unique) >= len(expected) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d alerts after the takeover", len(unique), len(expected))
		}
		time.Sleep(50 * time.Millisecond)
	}

	unique, repeats, _ := recv.state()
	checkEvents(t, "alerts", unique, expected)
	if repeats > onWire {
		t.Errorf("%d alerts repeated; only the %d on the wire at the kill may", repeats, onWire)
	}

	rdb := redis.NewClient(&redis.Options{Addr: s.Redis})
	defer rdb.Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		var pending int64
		for shard := range stream.DefaultShards {
			if p, err := rdb.XPending(context.Background(), stream.Key(shard), "liveflow-alerts").Result(); err == nil {
				pending += p.Count
			}
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries still pending in the alerts group", pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n, _ := rdb.XLen(context.Background(), "alerts:dead").Result(); n != 0 {
		t.Errorf("%d dead letters, want none", n)
	}
	t.Logf("%d alerts, %d on the wire when the first instance was killed, %d repeated", len(unique), onWire, repeats)
}

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/liveflow/liveflow/pkg/localredis"
	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/pkg/svc"
	"github.com/liveflow/liveflow/pkg/wsclient"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
	"github.com/liveflow/liveflow/services/edge/internal/hub/hubtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	defaults := config{
		httpAddr: ":8080", redisAddr: "127.0.0.1:6379", redisMode: "auto", feedStatus: "liveflow:feed:status",
		shards:  stream.DefaultShards,
		maxSubs: 64, maxConns: 100, queueLen: 4096, queueBytes: 4 << 20, lagGrace: 5 * time.Second,
		reqRate: 20, reqBurst: 40,
		pingEvery: 20 * time.Second, drainGrace: 10 * time.Second, drainOver: 5 * time.Second,
		Common: svc.Common{LogLevel: "info", LogFormat: "json"},
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(c *config) // changes to defaults; nil when an error is wanted
		wantErr string
	}{
		{name: "defaults", want: func(*config) {}},
		{name: "flags", args: []string{"-shards", "1024", "-client-queue", "2", "-ping-interval", "1s",
			"-max-subscriptions", "1", "-allowed-origins", "*.example.com", "-shutdown-grace", "0s", "-drain-period", "0s"},
			want: func(c *config) {
				c.shards, c.queueLen, c.pingEvery, c.maxSubs = 1024, 2, time.Second, 1
				c.origins, c.drainGrace, c.drainOver = "*.example.com", 0, 0
			}},
		{name: "environment",
			env: map[string]string{"LIVEFLOW_SHARDS": "8", "LIVEFLOW_REDIS_ADDR": "redis:6379",
				"LIVEFLOW_PING_INTERVAL": "2s", "LIVEFLOW_CLIENT_QUEUE": "16", "LIVEFLOW_HTTP_ADDR": ":9000"},
			want: func(c *config) {
				c.shards, c.redisAddr, c.httpAddr = 8, "redis:6379", ":9000"
				c.pingEvery, c.queueLen = 2*time.Second, 16
			}},
		{name: "flag wins over environment", args: []string{"-shards", "4"},
			env: map[string]string{"LIVEFLOW_SHARDS": "8"}, want: func(c *config) { c.shards = 4 }},
		{name: "cluster seeds", args: []string{"-redis-addr", "r1:7000,r2:7001", "-redis-mode", "cluster"},
			want: func(c *config) { c.redisAddr, c.redisMode = "r1:7000,r2:7001", "cluster" }},
		{name: "bad redis address", args: []string{"-redis-addr", "r1"}, wantErr: "-redis-addr"},
		{name: "bad redis mode", args: []string{"-redis-mode", "sentinel"}, wantErr: "-redis-mode"},
		{name: "no shards", args: []string{"-shards", "0"}, wantErr: "-shards 0"},
		{name: "negative shards", args: []string{"-shards", "-1"}, wantErr: "-shards -1"},
		{name: "too many shards", args: []string{"-shards", "1025"}, wantErr: "-shards 1025"},
		{name: "shards not a number", args: []string{"-shards", "many"}, wantErr: "invalid value"},
		{name: "no subscriptions", args: []string{"-max-subscriptions", "0"},
			wantErr: "-max-subscriptions 0"},
		{name: "no client queue", args: []string{"-client-queue", "0"}, wantErr: "-client-queue 0"},
		{name: "tiny byte queue", args: []string{"-client-queue-bytes", "1000"}, wantErr: "-client-queue-bytes 1000"},
		{name: "no lag grace", args: []string{"-lag-grace", "0s"}, wantErr: "-lag-grace 0s"},
		{name: "no request rate", args: []string{"-max-requests-per-second", "0"}, wantErr: "-max-requests-per-second 0"},
		{name: "NaN request rate", args: []string{"-max-requests-per-second", "NaN"}, wantErr: "-max-requests-per-second NaN"},
		{name: "no connections", args: []string{"-max-connections-per-user", "0"}, wantErr: "-max-connections-per-user 0"},
		{name: "long batch delay", args: []string{"-batch-delay", "2s"}, wantErr: "-batch-delay 2s"},
		{name: "token files", args: []string{"-jwt-hs256-secret-file", "/s", "-jwt-issuer", "sso"},
			want: func(c *config) { c.auth.hs256SecretFile, c.auth.issuer = "/s", "sso" }},
		{name: "pubsub fan-out", args: []string{"-fanout", "pubsub"},
			want: func(c *config) { c.fanout = hub.FanoutPubSub }},
		{name: "fan-out from the environment", env: map[string]string{"LIVEFLOW_FANOUT": "pubsub"},
			want: func(c *config) { c.fanout = hub.FanoutPubSub }},
		{name: "unknown fan-out", args: []string{"-fanout", "poll"}, wantErr: `fan-out "poll"`},
		{name: "ping too often", args: []string{"-ping-interval", "10ms"},
			wantErr: "-ping-interval 10ms"},
		{name: "empty http address", args: []string{"-http-addr", ""}, wantErr: "-http-addr is empty"},
		{name: "empty redis address", args: []string{"-redis-addr", ""}, wantErr: "-redis-addr is empty"},
		{name: "unknown flag", args: []string{"-shard", "4"}, wantErr: "not defined"},
		{name: "bad value in environment", env: map[string]string{"LIVEFLOW_SHARDS": "0"},
			wantErr: "-shards 0"},
		{name: "bad duration in environment", env: map[string]string{"LIVEFLOW_PING_INTERVAL": "10ms"},
			wantErr: "-ping-interval 10ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := parse(tt.args)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parse(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			want := defaults
			tt.want(&want)
			if err != nil || got != want {
				t.Errorf("parse(%q) =\n %+v, %v\nwant\n %+v", tt.args, got, err, want)
			}
		})
	}
}

// TestRunServesUntilCanceled runs the service as main does: it serves the
// live protocol and metrics until its context ends, then closes clients as
// going away and returns nil.
func TestAuthFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("secret", strings.Repeat("s", 32)+"\n")
	tests := []struct {
		name    string
		flags   authFlags
		wantErr string // empty when it must succeed
	}{
		{name: "none"},
		{name: "secret with a newline", flags: authFlags{hs256SecretFile: good, issuer: "sso"}},
		{name: "short secret", flags: authFlags{hs256SecretFile: write("short", "abc")}, wantErr: "at least 32"},
		{name: "missing secret file", flags: authFlags{hs256SecretFile: filepath.Join(dir, "nope")},
			wantErr: "-jwt-hs256-secret-file"},
		{name: "not a PEM key", flags: authFlags{rs256KeyFile: write("key.pem", "hello")},
			wantErr: "-jwt-rs256-public-key-file"},
		{name: "bad key file", flags: authFlags{apiKeysFile: write("keys.json", `{"keys":[{"sha":"x"}]}`)},
			wantErr: "-api-keys-file"},
		{name: "issuer without a key", flags: authFlags{issuer: "sso"}, wantErr: "need a token key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.flags.authenticator()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.flags != (authFlags{}); a.Required() != want {
					t.Errorf("Required() = %v, want %v", a.Required(), want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRunServesUntilCanceled(t *testing.T) {
	clearEnv(t)
	rdb, redisSrv := redistest.Client(t)
	port, err := localredis.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg, err := parse([]string{"-http-addr", addr, "-redis-addr", redisSrv.Addr(), "-shards", "4"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, zap.NewNop()) }()

	web := &http.Client{Transport: &http.Transport{}, Timeout: time.Second}
	defer web.CloseIdleConnections()
	get := func(path string) (int, string) {
		resp, err := web.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(5 * time.Second) // for everything run must do
	for code, body := get("/readyz"); code != http.StatusOK; code, body = get("/readyz") {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never answered 200; last %d %s", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}

	wctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := wsclient.Dial(wctx, "ws://"+addr+"/ws")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Conn().CloseNow()
	if err := c.Subscribe(wctx, "s", []string{"aapl"}, nil); err != nil {
		t.Fatal(err)
	}
	hubtest.XAdd(t, rdb, 4, "AAPL", `{"n":"a"}`)
	if m, err := c.Read(wctx); err != nil || m.Op != "events" || len(m.Events) != 1 {
		t.Fatalf("after subscribing got %+v, %v; want one event", m, err)
	}
	// The hub counts a delivery after handing it over, so poll.
	for _, body := get("/metrics"); !strings.Contains(body, "liveflow_edge_routed_total 1\n") ||
		!strings.Contains(body, "liveflow_edge_connections 1\n"); _, body = get("/metrics") {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks the edge series:\n%s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A client that never finishes its handshake (slowloris) is dropped once
	// the header deadline passes, and the node keeps serving the others.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Write([]byte("GET /ws HTTP/1.1\r\nHost: edge\r\nUpgrade: websocket\r\n")); err != nil {
		t.Fatal(err)
	}
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := io.Copy(io.Discard, slow); err != nil {
		t.Fatalf("the half-open handshake was not closed by the node: %v", err)
	}
	if took := time.Since(start); took < 4*time.Second {
		t.Errorf("half-open handshake closed after %s, before its deadline", took)
	}
	hubtest.XAdd(t, rdb, 4, "AAPL", `{"n":"b"}`)
	if m, err := c.Read(wctx); err != nil || m.Op != "events" {
		t.Fatalf("after the slow handshake got %+v, %v; want the next event", m, err)
	}

	// The market-data feed's state, as ingest publishes it, reaches clients.
	// Degraded first: the node starts out ok and says nothing until the
	// state changes.
	for _, state := range []string{"degraded", "ok"} {
		if err := rdb.HSet(wctx, "liveflow:feed:status", "state", state, "detail", "stalled for 30s").Err(); err != nil {
			t.Fatal(err)
		}
		m, err := c.Read(wctx)
		if err != nil || m.Op != "status" || m.Feed != state ||
			(state == "degraded" && !strings.Contains(m.Message, "stalled for 30s")) {
			t.Fatalf("after ingest reported %s got %+v, %v; want a %s status", state, m, err, state)
		}
	}

	stop()
	if _, _, err := c.Conn().Read(wctx); websocket.CloseStatus(err) != websocket.StatusServiceRestart {
		t.Errorf("client closed by %v, want %v", err, websocket.StatusServiceRestart)
	}
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run = %v, want nil after its context ends", err)
			}
			return
		case <-wctx.Done():
			t.Fatal("run did not return")
		case <-time.After(5 * time.Millisecond):
			hubtest.UnblockReaders(rdb) // spare the hub's Close its XREAD BLOCK
		}
	}
}

// clearEnv hides LIVEFLOW_ variables of the environment running the tests;
// parse ignores empty ones.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "LIVEFLOW_") {
			t.Setenv(k, "")
		}
	}
}

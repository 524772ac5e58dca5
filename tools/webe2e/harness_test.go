package webe2e

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/tools/stack"
)

// harness is the running stack and the control API the browser tests call.
type harness struct {
	t       testing.TB
	stack   *stack.Stack
	binDir  string
	secret  []byte
	rdb     *redis.Client
	writer  *stream.Writer
	edgeEnv []string // of the open edge, for restarts

	mu       sync.Mutex // guards the fields below and serializes writes
	edge     *stack.Process
	edgeAddr string
	offset   int64 // of the next event: every event is a tick of its own
	batch    stream.Batch
}

// edgeEnv is what both edges share: a short drain so a restart takes
// little time, still long enough that clients see the 1012 close.
var edgeEnv = []string{
	"LIVEFLOW_DRAIN_PERIOD=200ms",
	"LIVEFLOW_SHUTDOWN_GRACE=3s",
	"LIVEFLOW_LOG_LEVEL=warn",
}

// startEdge starts an edge on addr with extra settings and waits until it
// is ready.
func (h *harness) startEdge(addr string, extra ...string) *stack.Process {
	h.t.Helper()
	env := append([]string{"LIVEFLOW_HTTP_ADDR=" + addr}, edgeEnv...)
	p, err := h.stack.Service(h.binDir, "edge", append(env, extra...)...)
	if err != nil {
		h.t.Fatal(err)
	}
	waitReady(h.t, "http://"+addr+"/readyz", 20*time.Second)
	return p
}

func waitReady(t testing.TB, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("webe2e: %s not ready within %s", url, within)
}

// eventSpec is what a browser test asks to be written: any field of an
// event, over the defaults of defaultEvent.
type eventSpec map[string]any

// write appends events, each as the only event of a tick of its own, in one
// pipeline, and returns their keys in order.
func (h *harness) write(ctx context.Context, specs []eventSpec) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.batch.Reset()
	keys := make([]string, 0, len(specs))
	now := time.Now().UnixNano()
	for _, spec := range specs {
		h.offset++
		key := fmt.Sprintf("0.%d.0", h.offset)
		ev := defaultEvent(key, now)
		body, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			return nil, err
		}
		for k, v := range spec {
			m[k] = v
		}
		m["key"] = key
		body, err = json.Marshal(m)
		if err != nil {
			return nil, err
		}
		u, _ := m["underlying"].(string)
		h.batch.Add(stream.Shard(u, h.writer.Shards()), "webe2e", 0, h.offset, u, body)
		keys = append(keys, key)
	}
	if _, err := h.writer.Write(ctx, &h.batch); err != nil {
		return nil, err
	}
	return keys, nil
}

// defaultEvent is a plausible scored sweep, of the size the scorer's events
// have (fills, reasons), so that rendering is measured on real weight.
func defaultEvent(key string, now int64) flow.Event {
	fills := make([]flow.Fill, 3)
	for i := range fills {
		fills[i] = flow.Fill{
			Key: fmt.Sprintf("%s.f%d", key, i), TS: now, Symbol: "SPY   261218C00450000",
			Exchange: []string{"CBOE", "PHLX", "ISE"}[i], Price: 2.45, Size: 40, Side: "A",
		}
	}
	return flow.Event{
		Key: key, Kind: flow.KindTrade, TS: now, IngestTS: now, ScoredTS: now,
		Underlying: "SPY", Symbol: "SPY   261218C00450000", Expiry: "2026-12-18", DTE: 15,
		Strike: 450, Right: "C", Side: flow.SideAsk, Sentiment: flow.Bullish,
		Price: 2.45, Size: 120, Premium: 29_400, Bid: 2.35, Ask: 2.45, Spot: 445.2, OTMPct: 1.1,
		Volume: 4_200, OpenInterest: 3_900, Exchange: "", Exchanges: 3,
		Conditions: []string{"ISOI"}, FlagNames: []string{"iso"}, Fills: fills, Cancels: []string{},
		Score: 47, Components: flow.Components{Premium: 8, Aggression: 12, VolumeOI: 9, DTE: 6, Moneyness: 7, Kind: 5},
		Reasons: []string{
			"premium $29,400 gives 8 of 30 points",
			"bought at the ask: 12 of 15 points for aggression",
			"volume 4,200 against open interest 3,900: 9 of 15 points",
			"15 days to expiry: 6 of 10 points",
		},
	}
}

// burst writes rate events per second for the given time, spread over
// symbols, in batches every 10 ms, and returns how many it wrote.
func (h *harness) burst(ctx context.Context, rate int, d time.Duration, symbols []string) (int, error) {
	const tick = 10 * time.Millisecond
	start := time.Now()
	written := 0
	kinds := []string{"trade", "trade", "trade", "sweep", "block", "split"}
	for time.Since(start) < d {
		due := int(float64(rate)*time.Since(start).Seconds()) - written
		if due > 0 {
			specs := make([]eventSpec, due)
			for i := range specs {
				n := written + i
				specs[i] = eventSpec{
					"underlying": symbols[n%len(symbols)], "kind": kinds[n%len(kinds)],
					"premium": float64(1000 + (n*7919)%2_000_000), "sentiment": []string{"bullish", "bearish", "neutral"}[n%3],
					"right": []string{"C", "P"}[n%2],
				}
			}
			if _, err := h.write(ctx, specs); err != nil {
				return written, err
			}
			written += due
		}
		select {
		case <-ctx.Done():
			return written, ctx.Err()
		case <-time.After(tick):
		}
	}
	return written, nil
}

// restart stops the open edge (its clients get 1012), writes events while
// no edge runs, and starts the edge again on the same address.
func (h *harness) restart(ctx context.Context, whileDown []eventSpec) ([]string, error) {
	h.mu.Lock()
	old, addr := h.edge, h.edgeAddr
	h.mu.Unlock()
	if err := old.Stop(10 * time.Second); err != nil && !strings.Contains(err.Error(), "signal") {
		return nil, err
	}
	keys, err := h.write(ctx, whileDown)
	if err != nil {
		return nil, err
	}
	p := h.startEdge(addr, h.edgeEnv...)
	h.mu.Lock()
	h.edge = p
	h.mu.Unlock()
	return keys, nil
}

// token signs an HS256 JWT for user, valid for an hour, with the edge's
// secret, or with another one when forged is set. It is signed here by hand
// (base64url header and claims, HMAC-SHA256) to keep this module free of a
// JWT library that only this test would use; the edge checks it with one.
func (h *harness) token(user string, forged bool) (string, error) {
	secret := h.secret
	if forged {
		secret = []byte(strings.Repeat("x", 32))
	}
	claims, err := json.Marshal(map[string]any{"sub": user, "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil)), nil
}

// newSecret returns a random HS256 secret written to a file in dir.
func newSecret(t testing.TB, dir string) ([]byte, string) {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	secret := []byte(hex.EncodeToString(b))
	path := filepath.Join(dir, "hs256.secret")
	if err := os.WriteFile(path, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	return secret, path
}

// run runs a command in dir, its output in the test log, and fails the test
// if it fails.
func run(t testing.TB, ctx context.Context, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out := &lineLog{t: t}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	out.flush()
	if err != nil {
		t.Fatalf("webe2e: %s %s: %v", name, strings.Join(args, " "), err)
	}
}

// lineLog copies output to the test log line by line.
type lineLog struct {
	t    testing.TB
	mu   sync.Mutex
	part []byte
	done bool
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := strings.IndexByte(string(l.part), '\n')
		if i < 0 {
			break
		}
		if !l.done {
			l.t.Log(string(l.part[:i]))
		}
		l.part = l.part[i+1:]
	}
	return len(p), nil
}

func (l *lineLog) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.part) > 0 && !l.done {
		l.t.Log(string(l.part))
	}
	l.part = nil
}

func (l *lineLog) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}

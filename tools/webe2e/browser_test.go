package webe2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/tools/stack"
)

// TestBrowser runs the browser tests of web/e2e against two edges on a
// private redis-server: one open to anonymous clients, one that requires
// HS256 tokens. Chromium is Debian's (installed by scripts/deps.sh when
// missing); the web app is the build the edge binary embeds.
func TestBrowser(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	web := filepath.Join(root, "web")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	run(t, ctx, root, nil, filepath.Join(root, "scripts", "deps.sh"), "browser")
	if _, err := os.Stat(filepath.Join(web, "node_modules", ".package-lock.json")); err != nil {
		run(t, ctx, web, nil, "npm", "ci", "--no-audit", "--no-fund")
	}

	h := start(t, ctx, root)
	control := httptest.NewServer(h.routes())
	defer control.Close()

	auth := freeAddr(t)
	_, secretFile := newSecret(t, t.TempDir())
	h.secret, _ = os.ReadFile(secretFile)
	h.startEdge(auth, "LIVEFLOW_JWT_HS256_SECRET_FILE="+secretFile)

	artifacts := filepath.Join(root, ".cache", "web-e2e")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"vitest", "run", "--config", "vitest.e2e.config.ts"}
	if only := os.Getenv("WEBE2E_ONLY"); only != "" {
		args = append(args, "-t", only) // one browser test, while working on it
	}
	run(t, ctx, web, []string{
		"NO_COLOR=1",
		"LIVEFLOW_E2E_CONTROL=" + control.URL,
		"LIVEFLOW_E2E_EDGE=http://" + h.edgeAddr,
		"LIVEFLOW_E2E_AUTH_EDGE=http://" + auth,
		"LIVEFLOW_E2E_ARTIFACTS=" + artifacts,
		"LIVEFLOW_E2E_CHROMIUM=" + chromium(t),
	}, "npx", args...)
	t.Logf("screenshots and measurements in %s", artifacts)
}

// start builds the edge, starts Redis and the open edge.
func start(t *testing.T, ctx context.Context, root string) *harness {
	t.Helper()
	bin := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, "edge"), ".")
	build.Dir = filepath.Join(root, "services", "edge")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("webe2e: build the edge: %v\n%s", err, out)
	}
	logs := &lineLog{t: t}
	s, err := stack.Start(ctx, stack.Config{Logs: logs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		logs.stop()
	})
	rdb := redis.NewClient(&redis.Options{Addr: s.Redis})
	t.Cleanup(func() { rdb.Close() })
	w, err := stream.NewWriter(rdb, stream.WriterConfig{TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, stack: s, binDir: bin, rdb: rdb, writer: w}
	h.edgeAddr = freeAddr(t)
	h.edge = h.startEdge(h.edgeAddr)
	return h
}

func chromium(t testing.TB) string {
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("webe2e: chromium is not installed (scripts/deps.sh browser installs it)")
	}
	return p
}

// routes is the control API of the browser tests. Every request is a JSON
// POST; failures answer 500 with the error.
func (h *harness) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(path string, f func(ctx context.Context, body json.RawMessage) (any, error)) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			var body json.RawMessage
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			out, err := f(r.Context(), body)
			if err != nil {
				h.t.Logf("webe2e: %s: %v", path, err)
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(out)
		})
	}
	handle("/write", func(ctx context.Context, body json.RawMessage) (any, error) {
		var req struct{ Events []eventSpec }
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		keys, err := h.write(ctx, req.Events)
		return map[string]any{"keys": keys}, err
	})
	handle("/burst", func(ctx context.Context, body json.RawMessage) (any, error) {
		var req struct {
			Rate    int
			Seconds float64
			Symbols []string
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		n, err := h.burst(ctx, req.Rate, time.Duration(req.Seconds*float64(time.Second)), req.Symbols)
		return map[string]any{"written": n}, err
	})
	handle("/restart", func(ctx context.Context, body json.RawMessage) (any, error) {
		var req struct{ WhileDown []eventSpec }
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		keys, err := h.restart(ctx, req.WhileDown)
		return map[string]any{"keys": keys}, err
	})
	handle("/token", func(_ context.Context, body json.RawMessage) (any, error) {
		var req struct {
			User   string
			Forged bool
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, err
		}
		tok, err := h.token(req.User, req.Forged)
		return map[string]any{"token": tok}, err
	})
	return mux
}

func freeAddr(t testing.TB) string {
	t.Helper()
	a, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

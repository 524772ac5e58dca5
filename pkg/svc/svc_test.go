package svc

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestReadyzReportsFailedChecks(t *testing.T) {
	o := NewOps()
	o.AddCheck("kafka", func(context.Context) error { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done, err := Serve(ctx, "127.0.0.1:0", o.Mux())
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr.String()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with passing checks = %d, want 200", code)
	}
	o.AddCheck("redis", func(context.Context) error { return errors.New("connection refused") })
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"redis":"connection refused"`) {
		t.Errorf("/readyz with a failing check = %d %s, want 503 naming redis", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", code)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d, want 200 with runtime metrics", code)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve ended with %v after the context ended, want nil", err)
	}
}

func TestParseUsesEnvironmentAndListsIt(t *testing.T) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	addr := fs.String("redis-addr", "x:1", "where Redis is")
	t.Setenv("LIVEFLOW_REDIS_ADDR", "y:2")
	if err := Parse(fs, nil); err != nil || *addr != "y:2" {
		t.Errorf("Parse = %v, redis-addr %q; want y:2 from LIVEFLOW_REDIS_ADDR", err, *addr)
	}

	var usage strings.Builder
	PrintUsage(&usage, fs)
	if !strings.Contains(usage.String(), "-redis-addr  (LIVEFLOW_REDIS_ADDR, default \"x:1\")") {
		t.Errorf("usage does not name the variable:\n%s", usage.String())
	}
	if EnvName("stream-max.len") != "LIVEFLOW_STREAM_MAX_LEN" {
		t.Errorf("EnvName = %q", EnvName("stream-max.len"))
	}
}

func TestNewLoggerRejects(t *testing.T) {
	if _, err := NewLogger("x", "loud", "json"); err == nil {
		t.Error("NewLogger accepted level loud")
	}
	if _, err := NewLogger("x", "info", "xml"); err == nil {
		t.Error("NewLogger accepted format xml")
	}
	if _, err := NewLogger("x", "debug", "console"); err != nil {
		t.Errorf("NewLogger(debug, console) = %v", err)
	}
}

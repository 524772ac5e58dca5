package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/wsclient"
)

// TestDevstack runs what `make run` runs, on the synthetic feed: a client
// subscribed to the busiest underlyings must receive scored events within a
// minute of the start, and an interrupt must stop every process cleanly.
// With LIVEFLOW_KAFKA_BROKERS set, the devstack uses those brokers as it
// would for a developer, instead of kfake.
func TestDevstack(t *testing.T) {
	edgeAddr := freeAddr(t)
	cmd := exec.Command(binDir+"/devstack", "-bin", binDir)
	cmd.Env = append(os.Environ(),
		"LIVEFLOW_HTTP_ADDR="+edgeAddr,
		"LIVEFLOW_INGEST_OPS_ADDR="+freeAddr(t),
		"LIVEFLOW_SCORER_OPS_ADDR="+freeAddr(t),
		"LIVEFLOW_RATE=1000",
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &lines{}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	go out.copy(pr)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := dialRetry(ctx, t, "ws://"+edgeAddr+"/ws")
	busiest := []string{"SPY", "QQQ", "TSLA", "NVDA", "AAPL"}
	var got int
	if err := c.Subscribe(ctx, "busy", busiest, func(ev []json.RawMessage) { got += len(ev) }); err != nil {
		t.Fatalf("subscribe: %v\n%s", err, out.String())
	}
	for got == 0 {
		m, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("no event within a minute of the start: %v\n%s", err, out.String())
		}
		got += len(m.Events)
	}
	t.Logf("first events %s after the start", time.Since(start).Round(time.Millisecond))
	c.Close()

	redisAddr := regexp.MustCompile(`Redis: +(\S+)`).FindStringSubmatch(out.String())
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("devstack exited with %v after an interrupt\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("devstack did not stop within 30s of an interrupt\n%s", out.String())
	}
	if log := out.String(); strings.Contains(log, "killed") || !strings.Contains(log, "devstack | stopped") {
		t.Errorf("devstack did not stop every service cleanly:\n%s", log)
	}
	for _, addr := range []string{edgeAddr, redisAddr[1]} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the stack stopped", addr)
		}
	}
}

// dialRetry connects, retrying while the edge comes up.
func dialRetry(ctx context.Context, t testing.TB, url string) *wsclient.Client {
	t.Helper()
	for {
		c, err := wsclient.Dial(ctx, url)
		if err == nil {
			return c
		}
		select {
		case <-ctx.Done():
			t.Fatalf("edge at %s did not accept a connection: %v", url, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// lines collects a process's output for failure messages.
type lines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lines) copy(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l.mu.Lock()
		l.b.WriteString(sc.Text() + "\n")
		l.mu.Unlock()
	}
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

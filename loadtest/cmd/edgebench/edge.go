package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/liveflow/liveflow/loadtest/internal/prom"
	"github.com/liveflow/liveflow/pkg/localredis"
)

// edgeProc is an edge that edgebench started: a separate process on a free
// loopback port, with the environment of edgebench but GOMAXPROCS, so it may
// use every core. It dies with edgebench (Linux parent-death signal).
type edgeProc struct {
	cmd  *exec.Cmd
	addr string
	log  string // path of its log file
	done chan struct{}
	err  error // set before done is closed
}

// startEdge starts bin and waits until its /readyz answers.
func startEdge(ctx context.Context, bin, redisAddr string, shards int) (*edgeProc, error) {
	port, err := localredis.FreePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.CreateTemp("", "edgebench-edge-*.log")
	if err != nil {
		return nil, fmt.Errorf("edgebench: edge log: %w", err)
	}
	defer logf.Close()
	e := &edgeProc{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), log: logf.Name(),
		done: make(chan struct{})}
	e.cmd = exec.Command(bin, "-http-addr", e.addr, "-redis-addr", redisAddr,
		"-shards", strconv.Itoa(shards))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			e.cmd.Env = append(e.cmd.Env, kv)
		}
	}
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("edgebench: start edge %s: %w", bin, err)
	}
	go func() {
		e.err = e.cmd.Wait()
		close(e.done)
	}()
	if err := e.waitReady(ctx, 15*time.Second); err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

func (e *edgeProc) waitReady(ctx context.Context, timeout time.Duration) error {
	url := "http://" + e.addr + "/readyz"
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-e.done:
			return fmt.Errorf("edgebench: the edge exited at start (%v); its log %s ends: %s",
				e.err, e.log, tail(e.log))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		if err == nil && resp.StatusCode == http.StatusOK {
			return nil
		}
	}
	return fmt.Errorf("edgebench: the edge at %s was not ready within %s; its log %s ends: %s",
		e.addr, timeout, e.log, tail(e.log))
}

// stop asks the edge to shut down and kills it after 15 s.
func (e *edgeProc) stop() {
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(15 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
}

// tail returns the end of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 1500 {
		b = b[len(b)-1500:]
	}
	return strings.TrimSpace(string(b))
}

// edgeSeries are the series read from the edge's metrics endpoint; only the
// first is required.
var edgeSeries = []string{
	"process_cpu_seconds_total",
	"process_resident_memory_bytes",
	"liveflow_edge_routed_total",
	"liveflow_edge_events_sent_total",
	"liveflow_edge_event_frames_total",
}

// scrape reads series from a Prometheus text endpoint, summing the label
// sets of each. The first name is required.
func scrape(ctx context.Context, url string, names []string) (map[string]float64, error) {
	page, err := prom.Scrape(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("edgebench: %w", err)
	}
	out := map[string]float64{}
	for _, n := range names {
		if v, ok := page.Sum(n); ok {
			out[n] = v
		}
	}
	if _, ok := out[names[0]]; !ok {
		return nil, fmt.Errorf("edgebench: %s has no %s (is it an edge's metrics endpoint?)",
			url, names[0])
	}
	return out, nil
}

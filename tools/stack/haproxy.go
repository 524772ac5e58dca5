package stack

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// ErrNoHAProxy means no haproxy binary was found.
var ErrNoHAProxy = errors.New("stack: haproxy not found on PATH or in /usr/sbin " +
	"(scripts/deps.sh haproxy installs it; make test-scale runs it)")

// HAProxy is a running haproxy that balances WebSocket clients over edges.
type HAProxy struct {
	Addr string // where clients connect: host:port
	proc *Process
	dir  string
}

// haproxyConfig is the load balancer of the scale-out tests and a starting
// point for production (docs/scaling.md):
//   - HTTP mode, so /ws upgrades are seen and the tunnel timeout governs an
//     open WebSocket instead of the client and server timeouts;
//   - leastconn, because WebSocket connections are long: round robin spreads
//     new connections evenly, not the ones that stay;
//   - a health check on /readyz every 100 ms, failing a node at the first
//     503, so a draining edge (which answers 503) gets no new clients while
//     the ones it closes reconnect; a busy edge has 2 s to answer, so load
//     alone does not take every node out at once; no stickiness, because a
//     client resumes on any edge from its last ids.
var haproxyConfig = template.Must(template.New("haproxy").Parse(`global
    maxconn {{.MaxConn}}
    stats socket {{.Socket}} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout tunnel 1h
    timeout client-fin 5s
    timeout http-request 5s

frontend ws
    bind {{.Addr}}
    default_backend edges

backend edges
    balance leastconn
    option httpchk GET /readyz
    http-check expect status 200
    timeout check 2s
    default-server inter 100ms fall 1 rise 2
{{- range $i, $b := .Backends}}
    server edge{{$i}} {{$b}} check
{{- end}}
`))

// HAProxyOptions configure StartHAProxy. The zero value means defaults.
type HAProxyOptions struct {
	// MaxConn bounds the client connections haproxy holds; 0 means 4000.
	// Each takes two file descriptors (client and edge side), and haproxy
	// refuses to start when the process may not open that many.
	MaxConn int
	Logs    io.Writer // where haproxy's output goes; nil discards it
}

// StartHAProxy starts haproxy on a free loopback port in front of the edges
// at backends (host:port each) and waits until it accepts connections and
// sees every backend up.
func StartHAProxy(ctx context.Context, backends []string, opts HAProxyOptions) (*HAProxy, error) {
	if opts.MaxConn == 0 {
		opts.MaxConn = 4000
	}
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/haproxy"); serr != nil {
			return nil, ErrNoHAProxy
		}
		bin = "/usr/sbin/haproxy"
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "liveflow-haproxy-")
	if err != nil {
		return nil, fmt.Errorf("stack: %w", err)
	}
	h := &HAProxy{Addr: addr, dir: dir}
	cfg := filepath.Join(dir, "haproxy.cfg")
	var b strings.Builder
	if err := haproxyConfig.Execute(&b, map[string]any{
		"Addr": addr, "Backends": backends, "Socket": h.socket(), "MaxConn": opts.MaxConn,
	}); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("stack: haproxy config: %w", err)
	}
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("stack: %w", err)
	}
	// -db keeps it in the foreground, -W is the master-worker mode that
	// handles SIGTERM cleanly.
	h.proc, err = StartProcess("haproxy", bin, nil, opts.Logs, "-W", "-db", "-f", cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := h.waitUp(ctx, len(backends), 20*time.Second); err != nil {
		h.Stop()
		return nil, err
	}
	return h, nil
}

func (h *HAProxy) socket() string { return filepath.Join(h.dir, "admin.sock") }

// waitUp waits until the frontend accepts connections and n backends are up.
func (h *HAProxy) waitUp(ctx context.Context, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-h.proc.Done():
			return fmt.Errorf("stack: haproxy exited at start: %v", h.proc.Err())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		states, err := h.States()
		if err != nil {
			last = err
			continue
		}
		up := 0
		for _, st := range states {
			if st == "UP" {
				up++
			}
		}
		if up < n {
			last = fmt.Errorf("%d of %d backends up: %v", up, n, states)
			continue
		}
		c, err := net.DialTimeout("tcp", h.Addr, time.Second)
		if err != nil {
			last = err
			continue
		}
		c.Close()
		return nil
	}
	return fmt.Errorf("stack: haproxy not ready within %s: %v", within, last)
}

// States returns the health state of each backend as haproxy sees it, by
// server name (edge0, edge1, ...): "UP", "DOWN", or a transition such as
// "UP 1/2".
func (h *HAProxy) States() (map[string]string, error) {
	rows, err := h.stats()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range rows {
		if r["pxname"] == "edges" && r["svname"] != "BACKEND" {
			out[r["svname"]] = r["status"]
		}
	}
	return out, nil
}

// stats reads "show stat" from the admin socket, one map per CSV row.
func (h *HAProxy) stats() ([]map[string]string, error) {
	c, err := net.DialTimeout("unix", h.socket(), time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "show stat\n"); err != nil {
		return nil, err
	}
	r := bufio.NewReader(c)
	header, err := r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("stack: haproxy stats: %w", err)
	}
	names := strings.Split(strings.TrimPrefix(strings.TrimSpace(header), "# "), ",")
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	var rows []map[string]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("stack: haproxy stats: %w", err)
		}
		row := map[string]string{}
		for i, v := range rec {
			if i < len(names) {
				row[names[i]] = v
			}
		}
		rows = append(rows, row)
	}
}

// Stop ends haproxy and removes its directory.
func (h *HAProxy) Stop() error {
	err := h.proc.Stop(5 * time.Second)
	os.RemoveAll(h.dir)
	if err != nil && !exitedBySignal(err) {
		return err
	}
	return nil
}

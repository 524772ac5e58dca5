// Package localredis starts a private redis-server process on a loopback port,
// for local runs and tests.
package localredis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNotInstalled means no redis-server binary is on the PATH.
var ErrNotInstalled = errors.New("localredis: redis-server not found on PATH " +
	"(install it with: apt-get install redis-server)")

// Options configure the server. The zero value starts an in-memory server on a
// free port.
type Options struct {
	Port    int    // 0 picks a free port
	Dir     string // working directory for logs and persistence; "" means a temp dir
	Persist bool   // enable append-only persistence in Dir

	// Cluster starts the server as a Redis Cluster node (see StartCluster),
	// with its cluster bus on a free port of its own.
	Cluster bool
	// NodeTimeout is the cluster-node-timeout of a cluster node: how long a
	// master may be unreachable before its replica takes over. 0 means 1s.
	NodeTimeout time.Duration
}

// Server is a running redis-server.
type Server struct {
	cmd  *exec.Cmd
	addr string
	dir  string
	tmp  bool
	done chan struct{}
	err  error // set before done is closed
}

// Start launches redis-server and waits until it answers PING.
// The process dies with the calling process (Linux parent-death signal).
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	// A free port found by FreePort may be taken by another process before
	// redis-server binds it; ports chosen here are then chosen again.
	for attempt := 1; ; attempt++ {
		s, err := start(ctx, bin, opts)
		if err == nil || opts.Port != 0 || attempt == 5 || !errors.Is(err, errPortTaken) {
			return s, err
		}
	}
}

// errPortTaken means redis-server could not bind one of its ports.
var errPortTaken = errors.New("localredis: port taken")

func start(ctx context.Context, bin string, opts Options) (*Server, error) {
	var err error
	var clusterArgs []string
	if opts.Cluster {
		if clusterArgs, err = clusterNodeArgs(opts.NodeTimeout); err != nil {
			return nil, err
		}
	}
	s := &Server{dir: opts.Dir, done: make(chan struct{})}
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "liveflow-redis-"); err != nil {
			return nil, fmt.Errorf("localredis: %w", err)
		}
		s.tmp = true
	}
	port := opts.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	appendOnly := "no"
	if opts.Persist {
		appendOnly = "yes"
	}
	args := []string{
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--dir", s.dir, "--save", "", "--appendonly", appendOnly,
		"--logfile", filepath.Join(s.dir, "redis.log"), "--daemonize", "no",
	}
	if opts.Cluster {
		args = append(args, clusterArgs...)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("localredis: start %s: %w", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()

	if err := s.waitReady(ctx, 10*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Addr returns host:port.
func (s *Server) Addr() string { return s.addr }

// Dir returns the server's working directory.
func (s *Server) Dir() string { return s.dir }

// Stop shuts the server down and removes a temporary directory.
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	if s.tmp {
		os.RemoveAll(s.dir)
	}
}

// Kill ends the server at once, as a crash would.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			log := s.logTail()
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("%w: redis-server exited at start (%v): %s", errPortTaken, s.err, log)
			}
			return fmt.Errorf("localredis: redis-server exited at start (%v): %s", s.err, log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if ping(s.addr) == nil {
			return nil
		}
	}
	return fmt.Errorf("localredis: redis-server on %s did not answer within %s: %s", s.addr, timeout, s.logTail())
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// FreePort asks the kernel for a free TCP port on the loopback interface.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localredis: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

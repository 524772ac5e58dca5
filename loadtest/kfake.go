package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/liveflow/liveflow/pkg/localredis"
)

// kfakeEnv makes this binary (or the test binary) a Kafka process: franz-go's
// in-process cluster kfake on the port the variable names, until its
// standard input closes. The load tester runs kfake so rather than inside
// itself, so that the CPU and memory of Kafka and of the clients are
// measured apart.
const kfakeEnv = "LOADTEST_KFAKE_PORT"

func init() {
	if port := os.Getenv(kfakeEnv); port != "" {
		os.Exit(serveKfake(port))
	}
}

// serveKfake runs the child's side: it prints "ready <addr>" once the
// cluster listens and closes it when standard input reaches its end.
func serveKfake(port string) int {
	p, err := strconv.Atoi(port)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfake: port %q: %v\n", port, err)
		return 2
	}
	c, err := kfake.NewCluster(kfake.Ports(p), kfake.NumBrokers(1))
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfake: %v\n", err)
		return 1
	}
	defer c.Close()
	fmt.Printf("ready %s\n", c.ListenAddrs()[0])
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// kfakeProc is a kfake child process. It dies with the load tester.
type kfakeProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	done  chan struct{}
}

// startKfake starts a kfake child on a free loopback port and waits until
// it listens.
func startKfake(ctx context.Context) (*kfakeProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("loadtest: find own binary for kfake: %w", err)
	}
	port, err := localredis.FreePort()
	if err != nil {
		return nil, err
	}
	k := &kfakeProc{cmd: exec.Command(self), done: make(chan struct{})}
	k.cmd.Env = append(os.Environ(), kfakeEnv+"="+strconv.Itoa(port))
	k.cmd.Stderr = os.Stderr
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if k.stdin, err = k.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := k.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := k.cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadtest: start kfake: %w", err)
	}
	go func() {
		_ = k.cmd.Wait()
		close(k.done)
	}()
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case line := <-ready:
		addr, ok := strings.CutPrefix(line, "ready ")
		if !ok {
			k.stop()
			return nil, fmt.Errorf("loadtest: kfake did not start (it said %q)", line)
		}
		k.addr = addr
		return k, nil
	case <-time.After(30 * time.Second):
		k.stop()
		return nil, fmt.Errorf("loadtest: kfake did not listen within 30s")
	case <-ctx.Done():
		k.stop()
		return nil, ctx.Err()
	}
}

// pid returns the child's process id.
func (k *kfakeProc) pid() int { return k.cmd.Process.Pid }

// stop closes the child's input, which ends it, and kills it after 5 s.
func (k *kfakeProc) stop() {
	_ = k.stdin.Close()
	select {
	case <-k.done:
	case <-time.After(5 * time.Second):
		_ = k.cmd.Process.Kill()
		<-k.done
	}
}

package stack

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a running service binary.
type Process struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
}

// startProcess runs bin with env added to the current environment. Each line
// it prints is copied to out with the name in front. The process gets its own
// process group, so a terminal's Ctrl-C reaches only the stack, which then
// stops the services in order, and it dies with its parent.
func startProcess(name, bin string, env []string, out io.Writer, mu *sync.Mutex, args ...string) (*Process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("stack: start %s: %w", name, err)
	}

	p := &Process{Name: name, cmd: cmd, done: make(chan struct{})}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			mu.Lock()
			fmt.Fprintf(out, "%-7s| %s\n", name, sc.Bytes())
			mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		<-copied
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id, for readers of /proc/<pid>.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// StartProcess runs a helper binary the way Service runs a service: args
// and env added to the current environment, each printed line copied to out
// with name in front, its own process group, dying with its parent. Tests
// use it for what they kill and restart besides the services, such as a
// Kafka stand-in.
func StartProcess(name, bin string, env []string, out io.Writer, args ...string) (*Process, error) {
	if out == nil {
		out = io.Discard
	}
	return startProcess(name, bin, env, out, &sync.Mutex{}, args...)
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns how the process exited; valid after Done.
func (p *Process) Err() error { return p.err }

// Stop asks the process to shut down (SIGTERM) and kills it after grace.
func (p *Process) Stop(grace time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("stack: %s: %w", p.Name, p.err)
		}
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("stack: %s did not stop within %s and was killed", p.Name, grace)
	}
}

// Kill ends the process at once, as a crash would.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// exitedBySignal reports whether err is a process exit caused by a signal,
// which is how a stopped process may end; it is not a failure.
func exitedBySignal(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && !ee.Exited()
}

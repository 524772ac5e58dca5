package testkit

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestLogs(t *testing.T) {
	var l Logs
	l.Warnw("input rejected", "reason", "malformed")
	l.Warnw("input rejected", "reason", "bad_symbol")
	l.Infow("feed finished")
	if n := l.Count("warn", "input rejected"); n != 2 {
		t.Errorf("Count(warn, input rejected) = %d, want 2", n)
	}
	if n := l.Count("warn", "feed"); n != 0 {
		t.Errorf("Count(warn, feed) = %d, want 0: the info message has another level", n)
	}
	if !l.Contains("bad_symbol") || l.Contains("nothing like it") {
		t.Errorf("Contains does not look inside keys and values: %v", l.All())
	}
}

func TestEventually(t *testing.T) {
	var n atomic.Int32
	go func() {
		time.Sleep(20 * time.Millisecond)
		n.Store(1)
	}()
	Eventually(t, time.Second, "n is set", func() bool { return n.Load() == 1 })
}

// Package testkit holds small helpers the services' tests share: waiting
// for a condition instead of sleeping, and a logger that keeps what it is
// told so tests can check what a component reported.
package testkit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Eventually polls cond every 5 ms until it holds, and fails tb when it
// still does not after within.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting until %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Logs is a logger with the Infow and Warnw methods the services' packages
// ask for. It keeps each message as "<level> <msg> <keys and values>" and is
// safe for concurrent use.
type Logs struct {
	mu    sync.Mutex
	lines []string
}

// Infow records an info message.
func (l *Logs) Infow(msg string, kv ...any) { l.add("info", msg, kv) }

// Warnw records a warning.
func (l *Logs) Warnw(msg string, kv ...any) { l.add("warn", msg, kv) }

func (l *Logs) add(level, msg string, kv []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf("%s %s %v", level, msg, kv))
}

// All returns the messages so far.
func (l *Logs) All() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// Count returns how many messages have the level and start with prefix.
func (l *Logs) Count(level, prefix string) int {
	n := 0
	for _, s := range l.All() {
		if strings.HasPrefix(s, level+" "+prefix) {
			n++
		}
	}
	return n
}

// Contains reports whether any message holds sub.
func (l *Logs) Contains(sub string) bool {
	for _, s := range l.All() {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

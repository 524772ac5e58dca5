// Package tally counts what goes wrong with load-test connections, by
// reason, and names the reasons: dial failures, closes by the edge with the
// protocol's close codes, and lost connections.
package tally

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/coder/websocket"
)

// Reasons counts failures by reason, keeping the first error of each as an
// example, and the lagged notices clients received. It is safe for
// concurrent use.
type Reasons struct {
	mu      sync.Mutex
	counts  map[string]int
	example map[string]string
	notices int64 // lagged notices
	dropped int64 // events they said were dropped
}

// New returns an empty tally.
func New() *Reasons {
	return &Reasons{counts: map[string]int{}, example: map[string]string{}}
}

// Add counts one failure for reason; err, if any, may become its example.
func (r *Reasons) Add(reason string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[reason]++
	if _, ok := r.example[reason]; !ok && err != nil {
		r.example[reason] = err.Error()
	}
}

// Lagged counts a notice that the edge dropped n events for a client.
func (r *Reasons) Lagged(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices++
	r.dropped += n
}

// LaggedTotals returns the lagged notices counted and the events they said
// were dropped.
func (r *Reasons) LaggedTotals() (notices, dropped int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.notices, r.dropped
}

// Total returns how many failures with a reason starting with prefix were
// counted.
func (r *Reasons) Total(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, v := range r.counts {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// Count is one reason with its count and example.
type Count struct {
	Reason  string `json:"reason"`
	Count   int    `json:"count"`
	Example string `json:"example,omitempty"`
}

// Counts returns every reason, most frequent first.
func (r *Reasons) Counts() []Count {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Count, 0, len(r.counts))
	for k, v := range r.counts {
		out = append(out, Count{Reason: k, Count: v, Example: r.example[k]})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(b.Count-a.Count, strings.Compare(a.Reason, b.Reason))
	})
	return out
}

// First returns the most frequent reason with its example, for an error
// message.
func (r *Reasons) First() string {
	c := r.Counts()
	if len(c) == 0 {
		return "no reason recorded"
	}
	return c[0].Reason + ": " + c[0].Example
}

// CloseCodes names the close codes of docs/protocol.md.
var CloseCodes = map[websocket.StatusCode]string{
	1008: "no pong", 1009: "frame too big", 1012: "edge restarting", 4001: "slow consumer",
	4002: "binary frame", 4003: "unauthorized", 4004: "too many connections",
	4005: "too many subscriptions", 4006: "rate limited",
}

// CloseReason names why a connection ended while the run went on.
func CloseReason(err error) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return fmt.Sprintf("closed by edge: %d %s", code, CloseCodes[code])
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "read: connection lost"
	case errors.Is(err, syscall.ECONNRESET):
		return "read: connection reset"
	}
	return "read: other error"
}

// DialReason names why a dial failed.
func DialReason(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "dial: connection refused"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "dial: too many open files"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "dial: no free local port"
	case errors.Is(err, context.DeadlineExceeded):
		return "dial: timed out"
	case strings.Contains(err.Error(), "status code"):
		return "dial: upgrade refused"
	}
	return "dial: other error"
}

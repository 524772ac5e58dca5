package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/coder/websocket"
)

// stripes spreads the latency histograms so thousands of clients rarely
// wait for one another, without a histogram (about 130 KB) per client.
const stripes = 64

// latencies are histograms of Redis-write-to-client-read latency in
// microseconds, each guarded by its mutex.
type latencies [stripes]stripe

type stripe struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newLatencies() *latencies {
	l := new(latencies)
	for i := range l {
		l[i].h = newHistogram()
	}
	return l
}

// newHistogram covers 1 µs to 60 s with 3 significant digits.
func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000, 3) }

// lock locks and returns client n's stripe.
func (l *latencies) lock(n int) *stripe {
	s := &l[n%stripes]
	s.mu.Lock()
	return s
}

// merged returns one histogram of all stripes. Call it once the clients
// have stopped.
func (l *latencies) merged() *hdrhistogram.Histogram {
	h := newHistogram()
	for i := range l {
		h.Merge(l[i].h)
	}
	return h
}

// reasons counts what went wrong, by reason, keeping the first error of
// each as an example. It is safe for concurrent use.
type reasons struct {
	mu      sync.Mutex
	counts  map[string]int
	example map[string]string
	notices int64 // lagged notices
	dropped int64 // events they said were dropped
}

func newReasons() *reasons {
	return &reasons{counts: map[string]int{}, example: map[string]string{}}
}

func (r *reasons) add(reason string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[reason]++
	if _, ok := r.example[reason]; !ok && err != nil {
		r.example[reason] = err.Error()
	}
}

// lagged counts a notice that the edge dropped n events for a client.
func (r *reasons) lagged(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices++
	r.dropped += n
}

// total returns how many reasons starting with prefix were counted.
func (r *reasons) total(prefix string) int {
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

// print writes one line per reason, most frequent first.
func (r *reasons) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.counts) == 0 {
		row(w, "closes", "none")
	}
	keys := make([]string, 0, len(r.counts))
	for k := range r.counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if r.counts[a] != r.counts[b] {
			return r.counts[b] - r.counts[a]
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		row(w, "closes", "%d %s (e.g. %.120q)", r.counts[k], k, r.example[k])
	}
	if r.notices > 0 {
		row(w, "lagged", "%d lagged notices: the edge dropped %d events for clients behind",
			r.notices, r.dropped)
	}
}

// closeCodes names the close codes of docs/protocol.md.
var closeCodes = map[websocket.StatusCode]string{
	1008: "no pong", 1009: "frame too big", 1012: "edge restarting", 4001: "slow consumer",
	4002: "binary frame", 4003: "unauthorized", 4004: "too many connections",
	4005: "too many subscriptions", 4006: "rate limited",
}

// closeReason names why a connection ended while the run went on.
func closeReason(err error) string {
	if code := websocket.CloseStatus(err); code != -1 {
		return fmt.Sprintf("closed by edge: %d %s", code, closeCodes[code])
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "read: connection lost"
	case errors.Is(err, syscall.ECONNRESET):
		return "read: connection reset"
	}
	return "read: other error"
}

// dialReason names why a dial failed.
func dialReason(err error) string {
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

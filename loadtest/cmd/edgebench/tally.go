package main

import (
	"io"
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/liveflow/liveflow/loadtest/internal/tally"
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

// printReasons writes one line per failure reason, most frequent first, and
// the lagged notices.
func printReasons(w io.Writer, r *tally.Reasons) {
	counts := r.Counts()
	if len(counts) == 0 {
		row(w, "closes", "none")
	}
	for _, c := range counts {
		row(w, "closes", "%d %s (e.g. %.120q)", c.Count, c.Reason, c.Example)
	}
	if notices, dropped := r.LaggedTotals(); notices > 0 {
		row(w, "lagged", "%d lagged notices: the edge dropped %d events for clients behind",
			notices, dropped)
	}
}

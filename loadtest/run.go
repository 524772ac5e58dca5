package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/liveflow/liveflow/loadtest/internal/frames"
	"github.com/liveflow/liveflow/pkg/wsclient"
)

// result is what a run measured.
type result struct {
	clients    int
	failed     int // clients that could not connect or subscribe
	events     int64
	firstEvent time.Duration // from start to the first event at any client
	elapsed    time.Duration
	latency    *hdrhistogram.Histogram // microseconds
	undecoded  int64
}

// run opens the clients, reads until the deadline or the event target, and
// merges what each client measured.
func run(ctx context.Context, cfg config) (*result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	start := time.Now()

	var total atomic.Int64
	var first atomic.Int64
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed))
	hists := make([]*hdrhistogram.Histogram, cfg.clients)
	errs := make([]error, cfg.clients)
	var undecoded atomic.Int64
	var wg sync.WaitGroup
	for i := range cfg.clients {
		watch := pick(rng, cfg.symbols, cfg.perClient)
		hists[i] = newHistogram()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = client(ctx, cfg.url, fmt.Sprintf("c%d", i), watch, func(frame []byte) {
				now := time.Now().UnixNano()
				n, bad := stamps(frame, func(ingest int64) {
					_ = hists[i].RecordValue(max(0, now-ingest) / 1000)
				})
				undecoded.Add(int64(bad))
				if n == 0 {
					return
				}
				first.CompareAndSwap(0, now-start.UnixNano())
				if sum := total.Add(int64(n)); cfg.untilEvents > 0 && sum >= cfg.untilEvents {
					cancel()
				}
			})
		}()
	}
	wg.Wait()

	res := &result{clients: cfg.clients, events: total.Load(), elapsed: time.Since(start),
		firstEvent: time.Duration(first.Load()), latency: newHistogram(), undecoded: undecoded.Load()}
	for i, h := range hists {
		res.latency.Merge(h)
		if errs[i] != nil {
			res.failed++
			if res.failed == 1 {
				fmt.Printf("first client failure: %v\n", errs[i])
			}
		}
	}
	if res.failed == cfg.clients {
		return nil, fmt.Errorf("no client could connect and subscribe: %w", errs[0])
	}
	return res, nil
}

// client runs one connection until ctx ends and hands every events frame to
// onFrame. An edge that is not up yet is dialled again every quarter second,
// so a run can start with the stack. It returns an error only when it could
// not connect or subscribe.
func client(ctx context.Context, url, id string, watch []string, onFrame func([]byte)) error {
	c, err := wsclient.Dial(ctx, url)
	for err != nil {
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
		c, err = wsclient.Dial(ctx, url)
	}
	defer c.Close()
	err = c.Subscribe(ctx, id, watch, func(events []json.RawMessage) {
		for _, e := range events {
			onFrame(e)
		}
	})
	if err != nil {
		return err
	}
	// Frames are scanned, not decoded: on a machine shared with the stack,
	// decoding every event would make the load tester the bottleneck.
	for {
		_, frame, err := c.Conn().Read(ctx)
		if err != nil {
			return nil
		}
		if frames.IsEvents(frame) {
			onFrame(frame)
		}
	}
}

// stamps calls fn with the ingest_ts of every event in frame and returns how
// many it found and how many events lacked one.
func stamps(frame []byte, fn func(int64)) (found, bad int) {
	frames.Scan(frame, func(e frames.Event) {
		if e.IngestTS == 0 {
			bad++
			return
		}
		found++
		fn(e.IngestTS)
	})
	return found, bad
}

func pick(rng *rand.Rand, from []string, n int) []string {
	idx := rng.Perm(len(from))[:n]
	out := make([]string, n)
	for i, j := range idx {
		out[i] = from[j]
	}
	return out
}

// newHistogram covers 1 µs to 60 s with 3 significant digits.
func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, 60_000_000, 3)
}

func (r *result) print(w io.Writer) {
	ms := func(q float64) float64 { return float64(r.latency.ValueAtQuantile(q)) / 1000 }
	fmt.Fprintf(w, "clients     %d (%d failed)\n", r.clients, r.failed)
	fmt.Fprintf(w, "events      %d in %.1fs: %.0f events/s\n", r.events, r.elapsed.Seconds(),
		float64(r.events)/r.elapsed.Seconds())
	if r.events > 0 {
		fmt.Fprintf(w, "first event %.2fs after start\n", r.firstEvent.Seconds())
	}
	if r.latency.TotalCount() > 0 {
		fmt.Fprintf(w, "latency ms  p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (ingest to client)\n",
			ms(50), ms(90), ms(99), ms(99.9), float64(r.latency.Max())/1000)
	}
	if r.undecoded > 0 {
		fmt.Fprintf(w, "undecoded   %d events without ingest_ts\n", r.undecoded)
	}
}

package hub_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/liveflow/liveflow/pkg/localredis/redistest"
	"github.com/liveflow/liveflow/pkg/stream"
	"github.com/liveflow/liveflow/services/edge/internal/hub"
	"github.com/liveflow/liveflow/services/edge/internal/hub/hubtest"
)

// The fan-out benchmarks write events as scorers do (stream.Writer with
// notifications on, in both modes, so the load is the same) to a private
// redis-server and have every subscriber of one hub take all of them: each
// subscriber follows benchSymbols, spread over all shards. They report:
//
//   - p50-µs, p99-µs, max-µs: from just before the Write that carried an
//     event to the subscriber's Send, over every delivery;
//   - cpu-ns/event: CPU time of this process (hub, go-redis and the writer)
//     per event written; the writer alone is the "writer-only" case;
//   - redis-cpu-ns/event: CPU time of redis-server per event written;
//   - flushes/delivery: how many events share a Flush, inverted.
//
// "xread-unnotified" is XREAD with a writer that does not notify, as
// deployed without -stream-notify, to show what notifying costs Redis.

// benchSymbols are the underlyings written and followed.
var benchSymbols = func() []string {
	s := make([]string, 32)
	for i := range s {
		s[i] = fmt.Sprintf("B%d", i)
	}
	return s
}()

// benchCase is a fan-out mode and whether the writer notifies.
type benchCase struct {
	name   string
	fanout hub.Fanout
	notify bool
}

var benchCases = []benchCase{
	{"xread", hub.FanoutXRead, true},
	{"pubsub", hub.FanoutPubSub, true},
	{"xread-unnotified", hub.FanoutXRead, false},
}

// BenchmarkFanoutSteady writes at a steady rate, a batch every millisecond
// like a scorer's polls, b.N events in all; ns/op is then about the
// interval between events, and the latency and CPU metrics tell the modes
// apart.
func BenchmarkFanoutSteady(b *testing.B) {
	rdb, _ := redistest.Client(b)
	for _, rate := range []int{2000, 10000} {
		b.Run(fmt.Sprintf("rate=%d/writer-only", rate), func(b *testing.B) {
			runFanout(b, rdb, benchCases[0], 0, rate/1000, time.Millisecond)
		})
		for _, subs := range []int{1, 100} {
			for _, c := range benchCases {
				b.Run(fmt.Sprintf("rate=%d/subs=%d/%s", rate, subs, c.name), func(b *testing.B) {
					runFanout(b, rdb, c, subs, rate/1000, time.Millisecond)
				})
			}
		}
	}
}

// BenchmarkFanoutBurst writes b.N events back to back in batches of 100,
// as a scorer catching up does; ns/op is the wall time per event until
// every subscriber has all of them.
func BenchmarkFanoutBurst(b *testing.B) {
	rdb, _ := redistest.Client(b)
	for _, subs := range []int{1, 100} {
		for _, c := range benchCases {
			b.Run(fmt.Sprintf("subs=%d/%s", subs, c.name), func(b *testing.B) {
				runFanout(b, rdb, c, subs, 100, 0)
			})
		}
	}
}

// runFanout runs one case: subs subscribers of a hub in c's mode, and a
// writer of b.N events, perBatch per Write, one Write per interval (0: back
// to back). With no subscribers it runs the writer alone.
func runFanout(b *testing.B, rdb *redis.Client, c benchCase, subs, perBatch int, interval time.Duration) {
	ctx := context.Background()
	var h *hub.Hub
	recs := make([]*latencies, subs)
	if subs > 0 {
		h = hub.New(rdb, shards, nopLog{}, hub.NewMetrics(prometheus.NewRegistry()), hub.WithFanout(c.fanout))
		defer hubtest.Close(b, h, rdb)
		for i := range recs {
			recs[i] = &latencies{samples: make([]int64, 0, b.N+perBatch)}
			if _, err := h.Add(ctx, recs[i], benchSymbols); err != nil {
				b.Fatal(err)
			}
		}
	}
	w := newWriter(b, rdb, benchSymbols...)
	if !c.notify {
		quiet, err := stream.NewWriter(rdb, stream.WriterConfig{Shards: shards, TTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		w.w = quiet
	}
	cpu, rcpu := processCPU(b), redisCPU(b, rdb)
	b.ResetTimer()

	start := time.Now()
	if err := w.run(ctx, perBatch, interval, int64(b.N)); err != nil {
		b.Fatal(err)
	}
	writing := time.Since(start)
	written := w.written.Load()
	deadline := time.Now().Add(time.Minute)
	for _, r := range recs {
		for r.count() < written {
			if time.Now().After(deadline) {
				b.Fatalf("a subscriber got %d of %d events in a minute", r.count(), written)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	b.StopTimer()

	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(written) }
	b.ReportMetric(per(processCPU(b)-cpu), "cpu-ns/event")
	b.ReportMetric(per(redisCPU(b, rdb)-rcpu), "redis-cpu-ns/event")
	if interval > 0 {
		b.ReportMetric(float64(written)/writing.Seconds(), "events/s")
	}
	if subs > 0 {
		reportLatencies(b, recs)
	}
}

// reportLatencies reports the percentiles of every delivery's latency and
// how many deliveries shared a flush.
func reportLatencies(b *testing.B, recs []*latencies) {
	var all []int64
	flushes := 0
	for _, r := range recs {
		r.mu.Lock()
		all = append(all, r.samples...)
		flushes += r.flushes
		r.mu.Unlock()
	}
	slices.Sort(all)
	at := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / 1e3 }
	b.ReportMetric(at(0.5), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
	b.ReportMetric(at(1), "max-µs")
	b.ReportMetric(float64(flushes)/float64(len(all)), "flushes/delivery")
}

// latencies is a Subscriber that keeps, per event, the time from its
// ingest_ts to Send.
type latencies struct {
	mu      sync.Mutex
	samples []int64
	flushes int
}

func (l *latencies) Send(ev *hub.Event) bool {
	d := time.Now().UnixNano() - ev.IngestTS
	l.mu.Lock()
	l.samples = append(l.samples, d)
	l.mu.Unlock()
	return true
}

func (l *latencies) Flush() {
	l.mu.Lock()
	l.flushes++
	l.mu.Unlock()
}

func (l *latencies) count() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.samples))
}

// processCPU returns the user and system CPU time of this process so far.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU returns the user and system CPU time redis-server has used.
func redisCPU(tb testing.TB, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var total time.Duration
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			s, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatalf("INFO cpu: %q: %v", line, err)
			}
			total += time.Duration(s * 1e9)
		}
	}
	return total
}

type nopLog struct{}

func (nopLog) Warnw(string, ...any) {}

package consume

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/filter"
	"github.com/liveflow/liveflow/services/alerts/internal/deliver"
)

// BenchmarkLatency measures the time from the XADD of a matching event to
// the receipt of its webhook, through a real redis-server, one alerts
// instance and a local HTTP receiver: one event at a time, and at steady
// rates (all alerts to one destination, whose worker sends them in order).
// It reports the percentiles of that latency; ns/op is the pace of the run.
//
//	go test -run '^$' -bench Latency -benchtime 2000x ./internal/consume/
func BenchmarkLatency(b *testing.B) {
	for _, rate := range []int{0, 200, 1000} {
		name := "one-at-a-time"
		if rate > 0 {
			name = fmt.Sprintf("%d-per-second", rate)
		}
		b.Run(name, func(b *testing.B) { benchLatency(b, rate) })
	}
}

func benchLatency(b *testing.B, rate int) {
	rdb := startRedis(b)
	recv := &latencyReceiver{arrived: map[string]time.Time{}, signal: make(chan struct{}, 1)}
	srv := httptest.NewServer(recv)
	b.Cleanup(srv.Close)
	addRule(b, rdb, "all", filter.Filter{Symbols: []string{"*"}}, deliver.Destination{Type: deliver.Webhook, URL: srv.URL})
	in := startInstance(b, rdb, "bench", instanceConfig{consumer: Config{ClaimIdle: time.Minute}, deliver: deliver.Config{
		Queue: 1 << 20, MaxAge: time.Hour}})
	for groupConsumers(b, rdb) < testShards {
		time.Sleep(5 * time.Millisecond)
	}

	underlyings := []string{"SPY", "QQQ", "AAPL", "TSLA", "NVDA", "AMD", "MSFT", "META"}
	sent := make(map[string]time.Time, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d)
			}
		}
		at := time.Now()
		id := add(b, rdb, event(i, underlyings[i%len(underlyings)], "sweep", 70))
		sent[id] = at
		if rate == 0 {
			for !recv.has(id) {
				<-recv.signal
			}
		}
	}
	deadline := time.Now().Add(time.Minute)
	for recv.count() < b.N && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if n := recv.count(); n < b.N {
		b.Fatalf("%d of %d alerts arrived within a minute", n, b.N)
	}
	lat := make([]time.Duration, 0, b.N)
	recv.mu.Lock()
	for id, at := range sent {
		lat = append(lat, recv.arrived[id].Sub(at))
	}
	recv.mu.Unlock()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.9), "p90-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	in.stop()
}

// latencyReceiver notes when each alert arrives.
type latencyReceiver struct {
	mu      sync.Mutex
	arrived map[string]time.Time // event id -> first receipt
	signal  chan struct{}
}

func (l *latencyReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	id := r.Header.Get(deliver.HeaderEvent)
	l.mu.Lock()
	if _, seen := l.arrived[id]; !seen {
		l.arrived[id] = now
	}
	l.mu.Unlock()
	select {
	case l.signal <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

func (l *latencyReceiver) has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.arrived[id]
	return ok
}

func (l *latencyReceiver) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.arrived)
}

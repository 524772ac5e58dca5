package ingest

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liveflow/liveflow/pkg/tick"
)

// BenchmarkRouter measures what the router adds to every tick: the active
// feed check and the de-duplication mark, over 2,000 contracts.
func BenchmarkRouter(b *testing.B) {
	ticks := make([]tick.Tick, 2000)
	for i := range ticks {
		ticks[i] = tick.Tick{Type: tick.Quote, Underlying: "SPY",
			Symbol: fmt.Sprintf("SPY   261218C%08d", 100000+i*1000)}
	}
	r := newRouter(nopSink{}, NewMetrics(prometheus.NewRegistry()))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := &ticks[i%len(ticks)]
		t.TS++
		if err := r.deliver(ctx, 0, 1, t, int64(i)); err != nil {
			b.Fatal(err)
		}
	}
}

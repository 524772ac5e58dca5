package ingest

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/testkit"
	"github.com/liveflow/liveflow/pkg/tick"
)

// Ticks stamped far from when they were read, or of expired contracts, are
// refused by reason; a flood of them is logged a few lines a second.
func TestPipelineRefusesImpossibleTimes(t *testing.T) {
	t.Parallel()
	brokers := newCluster(t, 1)
	cl := newClient(t, brokers, kgo.ProducerLinger(0))
	m := NewMetrics(prometheus.NewRegistry())
	log := &testkit.Logs{}
	pipe, err := NewPipeline(context.Background(), cl, topic, m, log)
	if err != nil {
		t.Fatal(err)
	}
	pipe.now = func() time.Time { return readAt }
	trade := func(ts time.Time, symbol string) *tick.Tick {
		return &tick.Tick{Type: tick.Trade, TS: ts.UnixNano(), Underlying: "AAPL", Symbol: symbol,
			Price: 2, Size: 1}
	}
	const live, expired = "AAPL  261218C00200000", "AAPL  261127C00200000"
	ticks := []*tick.Tick{
		trade(readAt.Add(-time.Second), live),
		trade(readAt.Add(time.Hour), live),
		trade(readAt, live),
		trade(readAt, expired),
	}
	ticks[2].TS /= 1e9 // seconds where nanoseconds belong
	for range 50 {
		ticks = append(ticks, trade(readAt.Add(time.Hour), live))
	}
	for _, tk := range ticks {
		if err := pipe.Tick(context.Background(), tk, 0); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, cl)
	if n := endOffsetSum(t, cl); n != 1 {
		t.Errorf("produced %d ticks, want only the first", n)
	}
	for reason, n := range map[string]float64{tick.ReasonFuture: 51, tick.ReasonPast: 1, tick.ReasonExpired: 1} {
		if got := testutil.ToFloat64(m.Rejected.WithLabelValues(reason)); got != n {
			t.Errorf("rejected{reason=%s} = %v, want %v", reason, got, n)
		}
	}
	if n := log.Count("warn", "input rejected"); n > 3*10 {
		t.Errorf("logged %d rejections of 53, want the flood held back", n)
	}
}

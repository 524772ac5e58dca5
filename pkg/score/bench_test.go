package score

import (
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/synth"
	"github.com/liveflow/liveflow/pkg/tick"
)

// BenchmarkApply scores a realistic synthetic mix of quotes, trades, spot and
// open-interest ticks, as one partition's engine sees them.
func BenchmarkApply(b *testing.B) {
	gen, err := synth.New(synth.Config{Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC).UnixNano()
	ticks := make([]tick.Tick, 100_000)
	for i := range ticks {
		ticks[i] = gen.Next(now + int64(i)*100_000)
	}
	e := mustEngine(b)
	// Warm the engine so the benchmark measures the steady state, in which
	// every contract has been seen before.
	var out []flow.Event
	for i := range ticks {
		out, _ = e.Apply(&ticks[i], Source{Offset: int64(i)}, now, out[:0])
	}

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := &ticks[i%len(ticks)]
		out, err = e.Apply(t, Source{Offset: int64(i)}, now, out[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ticks/s")
}

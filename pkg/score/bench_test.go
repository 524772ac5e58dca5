package score

import (
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/synth"
	"github.com/liveflow/liveflow/pkg/tick"
)

// BenchmarkApply scores a realistic synthetic mix of quotes, trades, spot and
// open-interest ticks, as one partition's engine sees them: 10,000 ticks a
// second of market time. The recorded ticks are replayed again and again,
// each pass shifted in time so that market time keeps moving forward.
func BenchmarkApply(b *testing.B) {
	gen, err := synth.New(synth.Config{Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	step := int64(100 * time.Microsecond)
	start := time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC).UnixNano()
	ticks := make([]tick.Tick, n)
	for i := range ticks {
		ticks[i] = gen.Next(start + int64(i)*step)
	}
	e := mustEngine(b)
	var out []flow.Event
	apply := func(i int) {
		t := ticks[i%n]
		t.TS += int64(i/n) * n * step
		out, err = e.Apply(&t, Source{Offset: int64(i)}, 0, out[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
	// Warm the engine so the benchmark measures the steady state, in which
	// every contract has been seen before.
	for i := range 2 * n {
		apply(i)
	}

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		apply(2*n + i)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ticks/s")
}

package scorer

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/score"
	"github.com/liveflow/liveflow/pkg/synth"
	"github.com/liveflow/liveflow/pkg/topics"
)

// BenchmarkRestoreBusyPartition measures what a new owner of a busy
// partition waits for: reading its checkpoint from the state topic and
// restoring the engine. The partition holds the 25 busiest underlyings of
// the synthetic market (SPY, QQQ, TSLA, ...) after 1,000,000 ticks, 100 s of
// a 10,000 ticks/s market: more than any one of 12 partitions would carry.
func BenchmarkRestoreBusyPartition(b *testing.B) {
	gen, err := synth.New(synth.Config{Seed: 5, Underlyings: 25})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := score.New(score.Config{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC).UnixNano()
	const ticks = 1_000_000
	for i := range ticks {
		t := gen.Next(start + int64(i)*int64(100*time.Microsecond))
		if _, err := eng.Apply(&t, score.Source{Offset: int64(i)}, 0, nil); err != nil {
			b.Fatal(err)
		}
	}

	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(maxStateRecord))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	if _, err := topics.Ensure(ctx, kadm.NewClient(cl), "state", 1, topics.StateConfigs(maxStateRecord)); err != nil {
		b.Fatal(err)
	}
	var bytes int
	for _, name := range eng.TakeDirty() {
		v, err := eng.Snapshot(name)
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(v)
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "state", Key: []byte(name), Value: v}).FirstErr(); err != nil {
			b.Fatal(err)
		}
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "state", Key: []byte(watermarkKey),
		Value: []byte("999999")}).FirstErr(); err != nil {
		b.Fatal(err)
	}

	s, err := New(Config{Brokers: c.ListenAddrs(), Topic: "ticks", Group: "bench", StateTopic: "state"},
		nil, nopLogger{}, NewMetrics(prometheus.NewRegistry()))
	if err != nil {
		b.Fatal(err)
	}
	defer s.cl.Close()

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		offsets := map[string]map[int32]kgo.Offset{"ticks": {0: kgo.NewOffset().At(ticks)}}
		if _, err := s.restore(ctx, offsets); err != nil {
			b.Fatal(err)
		}
		if got := offsets["ticks"][0].EpochOffset().Offset; got != 1_000_000 {
			b.Fatalf("restored partition starts at %d, want 1000000", got)
		}
	}
	b.ReportMetric(float64(bytes)/1e6, "MB-state")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/restore")
}

type nopLogger struct{}

func (nopLogger) Warnw(string, ...any) {}
func (nopLogger) Infow(string, ...any) {}

package expect

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/score"
	"github.com/liveflow/liveflow/pkg/synth"
	"github.com/liveflow/liveflow/pkg/tick"
)

func TestKey(t *testing.T) {
	for _, c := range [][3]int64{{0, 0, 0}, {11, 714, 1}, {1023, 1<<44 - 1, 1023}} {
		k, ok := MakeKey(c[0], c[1], c[2])
		p, o, n := k.Parts()
		if !ok || [3]int64{p, o, n} != c || k.Partition() != int32(c[0]) || k.Offset() != c[1] {
			t.Errorf("MakeKey%v = %v, %v; parts %d %d %d", c, k, ok, p, o, n)
		}
	}
	if k, _ := MakeKey(11, 714, 1); k.String() != "11.714.1" {
		t.Errorf("String = %q", k.String())
	}
	for _, c := range [][3]int64{{-1, 0, 0}, {1024, 0, 0}, {0, 1 << 44, 0}, {0, -1, 0}, {0, 0, 1024}} {
		if _, ok := MakeKey(c[0], c[1], c[2]); ok {
			t.Errorf("MakeKey%v packed", c)
		}
	}
	a, _ := MakeKey(0, 5, 9)
	b, _ := MakeKey(0, 6, 0)
	c, _ := MakeKey(1, 0, 0)
	if !(a < b && b < c) {
		t.Error("keys do not sort by partition, offset and n")
	}
}

// synthTicks returns n synthetic ticks, 10,000 a second from the open.
func synthTicks(t testing.TB, n int) []tick.Tick {
	t.Helper()
	gen, err := synth.New(synth.Config{Seed: 3, Underlyings: 20})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 3, 14, 30, 0, 0, time.UTC).UnixNano()
	out := make([]tick.Tick, n)
	for i := range out {
		out[i] = gen.Next(start + int64(i)*int64(100*time.Microsecond))
		out[i].IngestTS = out[i].TS + 1000
	}
	return out
}

// TestPartitionScoresAsTheEngine checks the replay against the engine run
// as the scorer runs it, and that events keyed below the window are left
// out while their ticks still shape the state.
func TestPartitionScoresAsTheEngine(t *testing.T) {
	ticks := synthTicks(t, 20_000)
	eng, err := score.New(score.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	var want []flow.Event
	for i := range ticks {
		tk := ticks[i]
		evs, err := eng.Apply(&tk, score.Source{Partition: 3, Offset: int64(i)}, 0, nil)
		if err != nil {
			continue
		}
		for j := range evs {
			evs[j].Finish()
			if evs[j].Source.Offset >= 5_000 {
				want = append(want, evs[j])
			}
		}
	}
	if len(want) < 500 {
		t.Fatalf("only %d events; the sample is too quiet", len(want))
	}
	p, err := NewPartition(3, score.Defaults(), 5_000)
	if err != nil {
		t.Fatal(err)
	}
	var got []Event
	for i := range ticks {
		tk := ticks[i]
		if got, err = p.Apply(&tk, int64(i), got); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d events, the engine made %d", len(got), len(want))
	}
	for i := range got {
		w := &want[i]
		if got[i].Key.String() != w.Key || got[i].Kind != w.Kind || got[i].Premium != w.Premium ||
			got[i].Score != w.Score || got[i].Underlying != w.Underlying || got[i].IngestTS != w.IngestTS {
			t.Fatalf("event %d: %+v, the engine made %s %s %v %d", i, got[i], w.Key, w.Kind, w.Premium, w.Score)
		}
	}
	bad := ticks[0]
	bad.Symbol = ""
	if n := len(got); func() int { got, _ = p.Apply(&bad, 30_000, got); return len(got) }() != n {
		t.Error("a tick the engine rejects added events")
	}
}

// TestReadFromKafka produces ticks to two partitions of kfake and reads a
// range of each back in order.
func TestReadFromKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "ticks"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	codec, err := tick.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ticks := synthTicks(t, 40)
	for i := range ticks {
		v, err := codec.Encode(&ticks[i])
		if err != nil {
			t.Fatal(err)
		}
		r := &kgo.Record{Topic: "ticks", Partition: int32(i % 2), Value: v}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "ticks", Partition: 1, Value: []byte("junk")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	start, end, err := Bounds(ctx, cl, "ticks")
	if err != nil {
		t.Fatal(err)
	}
	if start.Total() != 0 || end[0] != 20 || end[1] != 21 || end.Total() != 41 {
		t.Fatalf("bounds %v %v", start, end)
	}
	type seen struct {
		p   int32
		off int64
		ts  int64
	}
	var got []seen
	bad, err := Read(ctx, []string{c.ListenAddrs()[0]}, "ticks", Offsets{0: 5, 1: 0}, Offsets{0: 15, 1: 21},
		func(p int32, off int64, tk *tick.Tick) error {
			got = append(got, seen{p, off, tk.TS})
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if bad != 1 || len(got) != 10+20 {
		t.Fatalf("read %d ticks and %d undecodable, want 30 and 1", len(got), bad)
	}
	last := map[int32]int64{0: 4, 1: -1}
	for _, s := range got {
		if s.off != last[s.p]+1 || s.ts != ticks[2*s.off+int64(s.p)].TS {
			t.Fatalf("partition %d offset %d after %d, or not the tick produced there", s.p, s.off, last[s.p])
		}
		last[s.p] = s.off
	}
}

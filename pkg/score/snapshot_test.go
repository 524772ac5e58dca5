package score

import (
	"reflect"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/synth"
	"github.com/liveflow/liveflow/pkg/tick"
)

// market returns n synthetic ticks, 10,000 a second of market time.
func market(t testing.TB, n int) []tick.Tick {
	t.Helper()
	gen, err := synth.New(synth.Config{Seed: 3, Underlyings: 40})
	if err != nil {
		t.Fatal(err)
	}
	ticks := make([]tick.Tick, n)
	for i := range ticks {
		ticks[i] = gen.Next(base + int64(i)*int64(100*time.Microsecond))
	}
	return ticks
}

// feed applies ticks[from:to] and returns the events by the offset of the
// tick that produced them.
func feed(t testing.TB, e *Engine, ticks []tick.Tick, from, to int) map[int][]flow.Event {
	t.Helper()
	out := map[int][]flow.Event{}
	for i := from; i < to; i++ {
		evs, err := e.Apply(&ticks[i], Source{Partition: 1, Offset: int64(i)}, 7, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 0 {
			out[i] = evs
		}
	}
	return out
}

func snapshotAll(t testing.TB, e *Engine, names []string) map[string][]byte {
	t.Helper()
	snaps := map[string][]byte{}
	for _, n := range names {
		b, err := e.Snapshot(n)
		if err != nil {
			t.Fatal(err)
		}
		snaps[n] = b
	}
	return snaps
}

func restoreAll(t testing.TB, snaps ...map[string][]byte) *Engine {
	t.Helper()
	e := mustEngine(t)
	for _, m := range snaps {
		for _, b := range m {
			if err := e.Restore(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e
}

// TestRestoreContinuesExactly takes over a partition mid-stream from
// snapshots and checks that the new engine emits exactly what an engine that
// never stopped emits, aggregates and all.
func TestRestoreContinuesExactly(t *testing.T) {
	ticks := market(t, 60_000)
	whole := feed(t, mustEngine(t), ticks, 0, len(ticks))

	for _, k := range []int{7_000, 31_000} {
		first := mustEngine(t)
		feed(t, first, ticks, 0, k)
		snaps := snapshotAll(t, first, first.TakeDirty())
		second := restoreAll(t, snaps)
		rest := feed(t, second, ticks, k, len(ticks))
		for i := k; i < len(ticks); i++ {
			if !reflect.DeepEqual(rest[i], whole[i]) {
				t.Fatalf("taken over at %d: events of tick %d differ\n got %+v\nwant %+v", k, i, rest[i], whole[i])
			}
		}
	}
}

// TestRestoreFromUnevenSnapshots restores underlyings saved at different
// offsets, as after a checkpoint cut short, and replays from the older one:
// ticks an underlying's state already holds are skipped, and from the newer
// offset on the output is exact.
func TestRestoreFromUnevenSnapshots(t *testing.T) {
	ticks := market(t, 40_000)
	whole := feed(t, mustEngine(t), ticks, 0, len(ticks))

	const k1, k2 = 12_000, 15_000
	first := mustEngine(t)
	feed(t, first, ticks, 0, k1)
	names := first.TakeDirty()
	early := snapshotAll(t, first, names[:len(names)/2])
	feed(t, first, ticks, k1, k2)
	late := snapshotAll(t, first, names[len(names)/2:])

	second := restoreAll(t, early, late)
	rest := feed(t, second, ticks, k1, len(ticks))
	if second.Stats().Skipped == 0 {
		t.Error("no tick was skipped, so the uneven case was not exercised")
	}
	for i := k2; i < len(ticks); i++ {
		if !reflect.DeepEqual(rest[i], whole[i]) {
			t.Fatalf("events of tick %d differ\n got %+v\nwant %+v", i, rest[i], whole[i])
		}
	}
}

func TestRestoreRejectsBadSnapshots(t *testing.T) {
	e := mustEngine(t)
	for _, b := range []string{`not json`, `{"v":99,"name":"AAPL"}`,
		`{"v":1,"name":"AAPL","contracts":[{"symbol":"BAD"}]}`} {
		if err := e.Restore([]byte(b)); err == nil {
			t.Errorf("Restore(%s) accepted", b)
		}
	}
	if b, err := e.Snapshot("NOPE"); b != nil || err != nil {
		t.Errorf("Snapshot of an unknown underlying = %s, %v; want nil, nil", b, err)
	}
}

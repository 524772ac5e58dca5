package score

import (
	"testing"

	"github.com/liveflow/liveflow/pkg/tick"
)

// FuzzRestore feeds arbitrary bytes to Restore, as a damaged or foreign
// record of the state topic would, then scores ticks of the same
// underlying: neither may panic, and what comes out keeps the rules every
// consumer relies on.
func FuzzRestore(f *testing.F) {
	e := mustEngine(f)
	play(f, e, quote(0, call, 2.0, 2.2), trade(10, call, 2.2, 30, "CBOE"), trade(20, call, 2.2, 40, "PHLX"))
	snap, err := e.Snapshot("AAPL")
	if err != nil || snap == nil {
		f.Fatalf("snapshot: %v", err)
	}
	f.Add(snap)
	f.Add([]byte(`{"v":1,"name":"AAPL","contracts":[{"symbol":"AAPL  261218C00200000","prints":[{}]}]}`))
	f.Add([]byte(`{"v":1,"name":"AAPL","spread":{"fills":[]},"aggs":[{"fills":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e := mustEngine(t)
		if err := e.Restore(b); err != nil {
			return
		}
		ticks := []tick.Tick{quote(1000, call, 2.0, 2.2), trade(1010, call, 2.2, 30, "CBOE"),
			trade(1020, call, 2.1, 10, "PHLX", "CANC"), spot(5000, "AAPL", 199)}
		for i := range ticks {
			out, err := e.Apply(&ticks[i], Source{Offset: 1<<40 + int64(i)}, 0, nil)
			if err != nil {
				t.Fatalf("valid tick refused after a restore: %v", err)
			}
			for j := range out {
				out[j].Finish()
				if out[j].Size < 0 || out[j].Volume < 0 {
					t.Fatalf("negative quantity after restoring %q: %+v", b, out[j])
				}
			}
		}
	})
}

package score

import (
	"testing"

	"github.com/liveflow/liveflow/pkg/flow"
	"github.com/liveflow/liveflow/pkg/tick"
)

// FuzzApply drives the engine with arbitrary sequences of ticks built from
// the fuzzer's bytes, and checks that it neither panics nor emits an event
// that breaks the rules every consumer relies on.
func FuzzApply(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("sweep sweep sweep cancel cancel late multi"))
	symbols := []string{call, put, spy, "AAPL  261204C00195000"}
	conds := [][]string{{}, {"ISOI"}, {"CANC"}, {"LATE"}, {"MLET"}, {"SLAI"}, {"EXHT"}, {"CNCL"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		e := mustEngine(t)
		var ms int64
		for i := 0; i+3 < len(data); i += 4 {
			op, a, b, c := data[i], data[i+1], data[i+2], data[i+3]
			ms += int64(a % 200)
			sym := symbols[int(b)%len(symbols)]
			var tk tick.Tick
			switch op % 4 {
			case 0:
				bid := 1 + float64(c%20)/10
				tk = quote(ms, sym, bid, bid+float64(a%5)/10)
			case 1:
				tk = spot(ms, under(sym), 150+float64(c))
			case 2:
				tk = openInterest(ms, sym, int64(c)*10)
			default:
				tk = trade(ms, sym, 1+float64(c%30)/10, int64(a%50)+1, []string{"CBOE", "PHLX", "ISE"}[b%3],
					conds[int(c)%len(conds)]...)
			}
			out, err := e.Apply(&tk, Source{Offset: int64(i)}, 0, nil)
			if err != nil {
				t.Fatalf("valid tick rejected: %v", err)
			}
			for _, ev := range out {
				check(t, &ev)
			}
		}
	})
}

func check(t *testing.T, ev *flow.Event) {
	t.Helper()
	if ev.Score < 0 || ev.Score > 100 || ev.Score != min(100, ev.Components.Sum()) {
		t.Fatalf("score %d with components %+v", ev.Score, ev.Components)
	}
	if ev.Volume < 0 || ev.Size <= 0 || ev.Premium < 0 {
		t.Fatalf("negative or empty quantity: %+v", ev)
	}
	switch ev.Kind {
	case flow.KindSweep, flow.KindSplit, flow.KindRepeated, flow.KindSpread:
		if len(ev.Fills) < 2 {
			t.Fatalf("%s with %d fills", ev.Kind, len(ev.Fills))
		}
		var size int64
		for _, f := range ev.Fills {
			size += f.Size
		}
		if size != ev.Size {
			t.Fatalf("%s size %d, fills add up to %d", ev.Kind, ev.Size, size)
		}
	case flow.KindCancel:
		if len(ev.Cancels) == 0 {
			t.Fatal("cancel retracts nothing")
		}
	}
}

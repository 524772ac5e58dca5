package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/liveflow/liveflow/pkg/synth"
	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
)

// tapeFile is the tape the run replays.
type tapeFile struct {
	path        string
	ticks       int // good lines
	badLines    int // lines ingest must refuse
	underlyings []string
	symbol      map[string]string // an option symbol of each underlying that has options
	start       int64             // ts of the first tick
}

// writeTape writes cfg.ticks synthetic ticks spread over cfg.duration of
// market time ending a little before now, with bad lines mixed in at random
// places: each kind of input ingest must count and skip.
func writeTape(path string, cfg config, rng *rand.Rand) (*tapeFile, error) {
	gen, err := synth.New(synth.Config{Seed: int64(cfg.seed), Underlyings: cfg.underlyings})
	if err != nil {
		return nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	tp := &tapeFile{path: path, symbol: map[string]string{}, start: start.UnixNano()}
	step := int64(cfg.duration) / int64(cfg.ticks)

	bad := badLines(start)
	at := map[int]string{}
	for _, line := range bad {
		at[rng.IntN(cfg.ticks)] = line
	}
	tp.badLines = len(at)
	for i := range cfg.ticks {
		if line, ok := at[i]; ok {
			fmt.Fprintln(w, line)
		}
		t := gen.Next(start.UnixNano() + int64(i)*step)
		b, err := tape.Format(&t)
		if err != nil {
			return nil, err
		}
		w.Write(b)
		w.WriteByte('\n')
		tp.ticks++
		if !slices.Contains(tp.underlyings, t.Underlying) {
			tp.underlyings = append(tp.underlyings, t.Underlying)
		}
		if t.Symbol != "" && tp.symbol[t.Underlying] == "" {
			tp.symbol[t.Underlying] = t.Symbol
		}
	}
	slices.Sort(tp.underlyings)
	return tp, w.Flush()
}

// badLines are tape lines ingest must refuse, one of each kind.
func badLines(start time.Time) []string {
	ts := start.Format(time.RFC3339Nano)
	future := start.Add(3 * time.Hour).Format(time.RFC3339Nano)
	return []string{
		`not json at all`,
		`{"type":"trade","ts":"` + ts + `","symbol":"SPY261218C00600000","price":-1,"size":1}`,
		`{"type":"trade","ts":"` + ts + `","symbol":"SPY261218C00600000","price":1,"size":0}`,
		`{"type":"bar","ts":"` + ts + `","underlying":"SPY"}`,
		`{"type":"trade","ts":"` + ts + `","symbol":"NOT-A-SYMBOL","price":1,"size":1}`,
		`{"type":"trade","ts":"` + ts + `","symbol":"SPY200117C00300000","price":1,"size":1}`,
		`{"type":"spot","ts":"` + future + `","underlying":"SPY","price":600}`,
		`{"type":"spot","ts":"` + ts + `","underlying":"SPY","price":600,"surprise":1}`,
	}
}

// tickOf returns a valid trade of underlying u at ts, for poison records to
// spoil.
func (tp *tapeFile) tickOf(u string, ts int64) tick.Tick {
	return tick.Tick{Type: tick.Trade, TS: ts, IngestTS: ts, Underlying: u, Symbol: tp.symbol[u],
		Price: 1, Size: 1, Exchange: "CBOE", Conditions: []string{}}
}

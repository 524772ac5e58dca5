package score

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
)

// TestGoldenTapes replays each hand-made tape in testdata/golden through an
// engine with the default rules and compares the events with the .events
// file beside it: one summary line per event (see summary), # for comments.
func TestGoldenTapes(t *testing.T) {
	tapes, err := filepath.Glob("testdata/golden/*.ndjson")
	if err != nil || len(tapes) == 0 {
		t.Fatalf("no golden tapes: %v", err)
	}
	for _, path := range tapes {
		name := strings.TrimSuffix(filepath.Base(path), ".ndjson")
		t.Run(name, func(t *testing.T) {
			got := play(t, mustEngine(t), readTape(t, path)...)
			checkSummaries(t, got, readExpected(t, strings.TrimSuffix(path, ".ndjson")+".events")...)
		})
	}
}

func readTape(t testing.TB, path string) []tick.Tick {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ticks []tick.Tick
	r := tape.NewReader(f)
	for {
		tk, err := r.Next()
		if errors.Is(err, io.EOF) {
			return ticks
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ticks = append(ticks, tk)
	}
}

func readExpected(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	return lines
}

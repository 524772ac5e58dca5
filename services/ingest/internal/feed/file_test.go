package feed

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liveflow/liveflow/pkg/tape"
	"github.com/liveflow/liveflow/pkg/tick"
)

type recorder struct {
	ticks   []tick.Tick
	reasons []string
	lines   []int
	failAt  int // Tick fails once when len(ticks) reaches failAt (0: never)
}

func (r *recorder) Tick(_ context.Context, t *tick.Tick, _ int64) error {
	if r.failAt > 0 && len(r.ticks) == r.failAt {
		r.failAt = 0
		return errors.New("broken sink")
	}
	r.ticks = append(r.ticks, *t)
	return nil
}

func (r *recorder) Reject(reason string, err error) {
	r.reasons = append(r.reasons, reason)
	var le *tape.LineError
	if errors.As(err, &le) {
		r.lines = append(r.lines, le.Line)
	}
}

func writeTape(t testing.TB, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tape.ndjson")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileKeepsPaceAndReportsBadLines(t *testing.T) {
	path := writeTape(t,
		`{"type":"spot","ts":"2026-12-03T14:30:00Z","underlying":"AAPL","price":1}`,
		`{"type":"trade","ts":"2026-12-03T14:30:01Z","symbol":"NOPE","price":1,"size":1}`,
		`{"type":"spot","ts":"2026-12-03T14:30:02Z","underlying":"AAPL","price":2}`,
		`{oops`,
		`{"type":"spot","ts":"2026-12-03T14:30:04Z","underlying":"AAPL","price":3}`,
	)
	f, err := NewFile(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	// A fake clock: sleeping advances it, so the test checks the schedule
	// without waiting for it.
	clock := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	var waits []time.Duration
	f.now = func() time.Time { return clock }
	f.sleep = func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		clock = clock.Add(d)
		return nil
	}

	var rec recorder
	if err := f.Run(context.Background(), &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.ticks) != 3 || rec.ticks[2].Price != 3 {
		t.Fatalf("got %d ticks %+v, want the 3 good ones", len(rec.ticks), rec.ticks)
	}
	// At speed 2, ticks 0 s, 2 s and 4 s apart are due at 0, 1 and 2 s.
	wantWaits := []time.Duration{0, time.Second, time.Second}
	if len(waits) != 3 || waits[0] != wantWaits[0] || waits[1] != wantWaits[1] || waits[2] != wantWaits[2] {
		t.Errorf("waits = %v, want %v", waits, wantWaits)
	}
	if strings.Join(rec.reasons, ",") != "bad_symbol,malformed" || rec.lines[0] != 2 || rec.lines[1] != 4 {
		t.Errorf("rejections %v at lines %v, want bad_symbol at 2 and malformed at 4", rec.reasons, rec.lines)
	}
}

func TestFileResumesAfterAFailedRun(t *testing.T) {
	path := writeTape(t,
		`{"type":"spot","ts":"2026-12-03T14:30:00Z","underlying":"AAPL","price":1}`,
		`{"type":"spot","ts":"2026-12-03T14:30:01Z","underlying":"AAPL","price":2}`,
		`{"type":"spot","ts":"2026-12-03T14:30:02Z","underlying":"AAPL","price":3}`,
	)
	f, err := NewFile(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := recorder{failAt: 1}
	if err := f.Run(context.Background(), &rec); err == nil {
		t.Fatal("Run with a failing sink returned nil")
	}
	if err := f.Run(context.Background(), &rec); err != nil {
		t.Fatal(err)
	}
	var prices []float64
	for _, tk := range rec.ticks {
		prices = append(prices, tk.Price)
	}
	if len(prices) != 3 || prices[0] != 1 || prices[1] != 2 || prices[2] != 3 {
		t.Errorf("prices after a retry = %v, want each tick once: [1 2 3]", prices)
	}
}

func TestFileMissing(t *testing.T) {
	f, err := NewFile(filepath.Join(t.TempDir(), "absent"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Run(context.Background(), &recorder{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run on a missing tape = %v, want not-exist", err)
	}
}

func TestParseSpec(t *testing.T) {
	if s, err := ParseSpec("file:/tmp/x.ndjson"); err != nil || s.Kind != "file" || s.Path != "/tmp/x.ndjson" {
		t.Errorf("ParseSpec(file:...) = %+v, %v", s, err)
	}
	if s, err := ParseSpec("synthetic"); err != nil || s.Kind != "synthetic" {
		t.Errorf("ParseSpec(synthetic) = %+v, %v", s, err)
	}
	if s, err := ParseSpec("polygon:wss://socket.example.com/options"); err != nil ||
		s.Kind != KindPolygon || s.URL != "wss://socket.example.com/options" {
		t.Errorf("ParseSpec(polygon:...) = %+v, %v", s, err)
	}
	for _, bad := range []string{"", "file:", "kafka", "synthetic:2", "polygon:", "polygon:http://x/options",
		"polygon:wss:///options"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q) accepted", bad)
		}
	}
}

// TestParseSpecKeepsCredentialsOut refuses an address carrying a key, and
// does not quote the key in the refusal.
func TestParseSpecKeepsCredentialsOut(t *testing.T) {
	const key = "s3cr3t-key"
	for _, s := range []string{
		"polygon:wss://socket.example.com/options?apiKey=" + key,
		"polygon:wss://user:" + key + "@socket.example.com/options",
		"polygon:wss://" + key + "@socket.example.com/options",
	} {
		_, err := ParseSpec(s)
		if err == nil {
			t.Errorf("ParseSpec(%q) accepted an address with a credential", s)
			continue
		}
		if strings.Contains(err.Error(), key) {
			t.Errorf("ParseSpec error quotes the key: %v", err)
		}
	}
}

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liveflow/liveflow/tools/stack"
)

// startStack starts Kafka (kfake, or the brokers in LIVEFLOW_KAFKA_BROKERS)
// and a private redis-server, with a ticks topic of the test's own.
func startStack(t testing.TB) *stack.Stack {
	t.Helper()
	topic := fmt.Sprintf("e2e-%s-%d.ticks", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	logs := &testLog{t: t}
	s, err := stack.Start(context.Background(), stack.Config{
		KafkaBrokers: os.Getenv("LIVEFLOW_KAFKA_BROKERS"),
		TicksTopic:   topic,
		Partitions:   4,
		Logs:         logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		logs.stop()
	})
	return s
}

// testLog forwards service output to the test log until the test ends.
type testLog struct {
	t testing.TB

	mu     sync.Mutex
	done   bool
	races  []string // lines of the data race reports services printed
	inRace int      // lines of the current report still to keep
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// The services are built with -race; a report is kept even when the
	// output is not shown, so that the test can say what was found.
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if strings.Contains(line, "WARNING: DATA RACE") {
			l.inRace = 100
		}
		if l.inRace > 0 {
			l.races = append(l.races, line)
			l.inRace--
		}
	}
	if !l.done && testing.Verbose() {
		l.t.Logf("%s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// stop ends the logging, once the services have stopped, and fails the test
// with any data race report they printed.
func (l *testLog) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	if len(l.races) > 0 {
		l.t.Errorf("a service reported a data race:\n%s", strings.Join(l.races, "\n"))
	}
}

// freeAddr returns a free loopback address.
func freeAddr(t testing.TB) string {
	t.Helper()
	a, err := stack.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// waitHTTP polls url until it answers 200 or the deadline passes.
func waitHTTP(t testing.TB, url string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 within %s", url, within)
}

// metric returns the value of one series from a Prometheus text endpoint,
// e.g. `liveflow_ingest_rejected_total{reason="malformed"}`; 0 when absent.
func metric(t testing.TB, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, series+" ") {
			var v float64
			if _, err := fmt.Sscan(strings.TrimPrefix(line, series+" "), &v); err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return v
		}
	}
	return 0
}

// readLines reads an NDJSON file into generic objects.
func readLines(t testing.TB, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liveflow/liveflow/loadtest/internal/watch"
)

// buildEdge compiles the edge service for the test: edgebench measures it
// as a separate process and may not import it.
func buildEdge(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "edge")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "..", "..", "services", "edge")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the edge: %v\n%s", err, out)
	}
	return bin
}

// TestRunAgainstEdge runs the whole tool, small, against a real edge and
// redis-server that it starts itself. At this load every client must get
// exactly what its filter wants.
func TestRunAgainstEdge(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir()) // the edge's log
	cfg, err := parse([]string{"-edge-bin", buildEdge(t), "-clients", "40", "-rate", "200",
		"-pool", "3000", "-ramp", "400", "-warmup", "500ms", "-duration", "2s", "-tail", "1s"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out strings.Builder
	rep, err := run(ctx, cfg, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	t.Log("\n" + out.String())

	if rep.subscribed != 40 {
		t.Errorf("%d of 40 clients subscribed", rep.subscribed)
	}
	if w := rep.hi - rep.lo; w < 300 {
		t.Errorf("%d events written in a 2 s window at 200/s", w)
	}
	var expected, delivered int64
	for _, c := range rep.clients {
		expected += c.expected
		delivered += c.delivered
		if c.delivered != c.expected || c.dups+c.disorder+c.unwanted+c.alien != 0 {
			t.Errorf("client %d (%s): expected %d, delivered %d, duplicated %d, out of order %d, "+
				"unwanted %d, foreign %d", c.n, watch.Describe(&c.filter), c.expected, c.delivered, c.dups,
				c.disorder, c.unwanted, c.alien)
		}
	}
	if expected < 100 {
		t.Errorf("the clients' filters wanted only %d events of the window", expected)
	}
	if n := rep.lat.TotalCount(); n != delivered {
		t.Errorf("%d latency samples for %d deliveries", n, delivered)
	}
	if rep.edgeCPU() <= 0 || rep.deliveries() <= 0 || rep.perCPU() <= 0 {
		t.Errorf("edge CPU %.2f s, deliveries %d", rep.edgeCPU(), rep.deliveries())
	}
	if n := rep.reasons.Total(""); n != 0 {
		t.Errorf("%d failures or closes", n)
	}
	for _, want := range []string{"accounting   expected", "lost 0, duplicated 0",
		"deliveries per edge CPU-second", "targets"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
